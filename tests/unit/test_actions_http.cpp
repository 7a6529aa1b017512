#include <catch2/catch.hpp>

#include <rollback/actions/http.hpp>
#include <rollback/util/redact.hpp>

using namespace rollback;
using namespace rollback::actions;

TEST_CASE("expect_status accepts a code, a range, a class and lists of them", "[actions][http]") {
  auto one = http::parse_expect_status(204);
  REQUIRE(one);
  CHECK(http::describe_status(*one) == "204");
  auto range = http::parse_expect_status("200-299");
  REQUIRE(range);
  CHECK(range->front().contains(250));
  CHECK_FALSE(range->front().contains(300));
  auto cls = http::parse_expect_status("4xx");
  REQUIRE(cls);
  CHECK(http::describe_status(*cls) == "400-499");
  auto list = http::parse_expect_status(nlohmann::json::array({200, "301-302"}));
  REQUIRE(list);
  CHECK(http::describe_status(*list) == "200 or 301-302");
  CHECK(http::describe_status(*http::parse_expect_status(nullptr)) == "200-399");
}

TEST_CASE("expect_status rejects what is not a status", "[actions][http]") {
  CHECK_FALSE(http::parse_expect_status("ok"));
  CHECK_FALSE(http::parse_expect_status("299-200"));
  CHECK_FALSE(http::parse_expect_status("200-"));
  CHECK_FALSE(http::parse_expect_status(nlohmann::json::array()));
}

TEST_CASE("a body excerpt is one line, at most 200 characters, and redacted", "[actions][http]") {
  clear_secrets();
  register_secret("tok-abc-123");
  auto excerpt = http::body_excerpt("line one\nkey=tok-abc-123\n" + std::string(500, 'x'));
  CHECK(excerpt.find('\n') == std::string::npos);
  CHECK(excerpt.find("tok-abc-123") == std::string::npos);
  CHECK(excerpt.find("key=***") != std::string::npos);
  CHECK(excerpt.size() <= 203);
  CHECK(excerpt.ends_with("..."));
  CHECK(http::body_excerpt("short") == "short");
}

TEST_CASE("headers named like credentials are sensitive", "[actions][http]") {
  CHECK(http::sensitive_header("Authorization"));
  CHECK(http::sensitive_header("apikey"));
  CHECK(http::sensitive_header("X-Auth-Token"));
  CHECK_FALSE(http::sensitive_header("Accept"));
}

TEST_CASE("describe shows method, URL and header names, never secret values", "[actions][http]") {
  clear_secrets();
  register_secret("registered-secret-value");
  Params params(nlohmann::json{{"url", "https://api.example.com/health"},
                               {"headers", {{"Accept", "application/json"},
                                            {"X-Custom", "registered-secret-value"},
                                            {"Authorization", "Bearer literal-in-plan"}}}});
  auto text = http::probe_action().describe(params);
  CHECK(text.starts_with("probe GET https://api.example.com/health"));
  CHECK(text.find("Accept: application/json") != std::string::npos);
  CHECK(text.find("X-Custom: ***") != std::string::npos);
  CHECK(text.find("Authorization: ***") != std::string::npos);
  CHECK(text.find("registered-secret-value") == std::string::npos);
  CHECK(text.find("literal-in-plan") == std::string::npos);
  CHECK(http::request_action().describe(Params(nlohmann::json{{"url", "http://x/hook"}})) == "request POST http://x/hook");
}

TEST_CASE("http.probe is read-only and http.request is not", "[actions][http]") {
  CHECK(http::probe_action().read_only);
  CHECK_FALSE(http::request_action().read_only);
  auto into = http::probe_action().params;
  CHECK(std::any_of(into.begin(), into.end(), [](const auto& p) { return p.name == "expect_json"; }));
}

namespace {

// Runs an action's load-time validation on a YAML `with:` block; returns the messages.
std::vector<std::string> validate(const Action& action, const std::string& with_yaml) {
  std::string file = "plans/test.yaml";
  YAML::Node with = YAML::Load(with_yaml);
  plan::Location step{file, 3, 5};
  plan::Diagnostics out;
  ParamCheck check(file, with, step, out);
  action.validate(check);
  std::vector<std::string> messages;
  for (const auto& d : out) messages.push_back(d.message);
  return messages;
}

}  // namespace

TEST_CASE("http.probe needs exactly one of url and urls", "[actions][http]") {
  CHECK(validate(http::probe_action(), "{url: http://x/}").empty());
  CHECK(validate(http::probe_action(), "{urls: [http://x/, http://y/], parallel: true}").empty());
  auto both = validate(http::probe_action(), "{url: http://x/, urls: [http://y/]}");
  REQUIRE(both.size() == 1);
  CHECK(both[0] == "set exactly one of `url` and `urls`");
  CHECK(validate(http::probe_action(), "{method: GET}").size() == 1);
}

TEST_CASE("http.probe rejects a bad status, regex or JSON pointer at load time", "[actions][http]") {
  auto status = validate(http::probe_action(), "{url: http://x/, expect_status: healthy}");
  REQUIRE(status.size() == 1);
  CHECK(status[0].find("'healthy' is not a status") != std::string::npos);
  CHECK(validate(http::probe_action(), "{url: http://x/, expect_status: '${code}'}").empty());
  CHECK(validate(http::probe_action(), "{url: http://x/, expect_body_regex: '(unclosed'}").size() == 1);
  auto pointer = validate(http::probe_action(), "{url: http://x/, expect_json: {version: 1.4.2}}");
  REQUIRE(pointer.size() == 1);
  CHECK(pointer[0].find("write \"/version\"") != std::string::npos);
}
