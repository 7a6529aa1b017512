// http.probe / http.request against in-process HTTP servers (tests/support/http_servers).
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <rollback/actions/http.hpp>
#include <rollback/util/redact.hpp>

#include "support/http_servers.hpp"

using namespace rollback;
using namespace rollback::actions;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  proc::SystemRunner runner;
  std::map<std::string, std::string> vars;
  std::vector<std::string> log;
  ActionContext ctx{"probe", runner,
                    [this](const std::string& k, const std::string& v) { vars[k] = v; },
                    [this](std::string_view line) { log.emplace_back(line); }};
  Outcome probe(nlohmann::json params) { return http::probe_action().run(ctx, Params(std::move(params))); }
};

std::string observation(const Outcome& out, const std::string& name) {
  for (const auto& o : out.observations) {
    if (o.name == name) return o.value;
  }
  return "(none)";
}

}  // namespace

TEST_CASE("a healthy server passes the default status check and reports status and latency", "[http]") {
  auto server = testing::HttpServer::healthy();
  Fixture f;
  auto out = f.probe({{"url", server->url("/health")}});
  INFO(out.message);
  CHECK(out.ok);
  CHECK(observation(out, "status") == "200");
  CHECK(observation(out, "latency") != "(none)");
}

TEST_CASE("a 500 fails with the URL, the expectation and what was observed, transiently", "[http]") {
  auto server = testing::HttpServer::failing();
  Fixture f;
  auto out = f.probe({{"url", server->url("/health")}, {"expect_status", "200-299"}});
  CHECK_FALSE(out.ok);
  CHECK(out.transient);
  CHECK(out.message.find("GET " + server->url("/health")) != std::string::npos);
  CHECK(out.message.find("expected status 200-299, got 500") != std::string::npos);
  CHECK(out.message.find("body: \"internal error\"") != std::string::npos);
  CHECK(observation(out, "status") == "500");
}

TEST_CASE("a refused connection is a transient failure naming the URL", "[http]") {
  Fixture f;
  auto url = "http://127.0.0.1:" + std::to_string(testing::unused_port()) + "/";
  auto out = f.probe({{"url", url}});
  CHECK_FALSE(out.ok);
  CHECK(out.transient);
  CHECK(out.message.find(url) != std::string::npos);
  CHECK(out.message.find("no answer") != std::string::npos);
}

TEST_CASE("the body must contain a substring or match a regex when asked", "[http]") {
  auto server = testing::HttpServer::json();
  Fixture f;
  CHECK(f.probe({{"url", server->url()}, {"expect_body", "\"status\":\"ok\""}}).ok);
  CHECK(f.probe({{"url", server->url()}, {"expect_body_regex", "\"version\":\"1\\.4\\.[0-9]+\""}}).ok);
  auto miss = f.probe({{"url", server->url()}, {"expect_body", "maintenance"}});
  CHECK_FALSE(miss.ok);
  CHECK_FALSE(miss.transient);
  CHECK(miss.message.find("expected the body to contain \"maintenance\"") != std::string::npos);
  CHECK(miss.message.find("1.4.2") != std::string::npos);  // the excerpt of what came back
}

TEST_CASE("JSON pointers in the body are compared with the expected values", "[http]") {
  auto server = testing::HttpServer::json(R"({"version":"1.4.2","status":"ok","db":{"replicas":2}})");
  Fixture f;
  CHECK(f.probe({{"url", server->url()}, {"expect_json", {{"/version", "1.4.2"}, {"/db/replicas", 2}}}}).ok);
  CHECK(f.probe({{"url", server->url()}, {"expect_json", {{"/db/replicas", "2"}}}}).ok);
  auto wrong = f.probe({{"url", server->url()}, {"expect_json", {{"/version", "1.5.0"}}}});
  CHECK_FALSE(wrong.ok);
  CHECK(wrong.message.find("expected JSON /version = 1.5.0, got 1.4.2") != std::string::npos);
  auto absent = f.probe({{"url", server->url()}, {"expect_json", {{"/build", "x"}}}});
  CHECK_FALSE(absent.ok);
  CHECK(absent.message.find("/build") != std::string::npos);
}

TEST_CASE("a response slower than max_latency fails with the latency seen", "[http]") {
  auto server = testing::HttpServer::slow(300ms);
  Fixture f;
  auto out = f.probe({{"url", server->url()}, {"max_latency", "100ms"}});
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("expected latency <= 100ms") != std::string::npos);
  CHECK(f.probe({{"url", server->url()}, {"max_latency", "2s"}}).ok);
}

TEST_CASE("a probe's timeout stops waiting for a server that does not answer", "[http]") {
  auto server = testing::HttpServer::slow(1500ms);
  Fixture f;
  auto start = std::chrono::steady_clock::now();
  auto out = f.probe({{"url", server->url()}, {"timeout", "300ms"}});
  CHECK_FALSE(out.ok);
  CHECK(out.transient);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(out.message.find("within the timeout") != std::string::npos);
}

TEST_CASE("a secret header reaches the server but no output", "[http]") {
  clear_secrets();
  const std::string secret = "k3y-0f-the-kingd0m";
  register_secret(secret);
  auto server = testing::HttpServer::requires_header("apikey", secret);
  Fixture f;
  nlohmann::json params = {{"url", server->url("/private?echo=" + secret)}, {"headers", {{"apikey", secret}}}};
  auto out = f.probe(params);
  INFO(out.message);
  CHECK(out.ok);
  CHECK(server->last_header("apikey") == secret);
  auto wrong = f.probe({{"url", server->url("/private?echo=" + secret)}, {"headers", {{"apikey", "nope"}}}});
  CHECK_FALSE(wrong.ok);
  CHECK(wrong.message.find("got 401") != std::string::npos);
  for (const auto* o : {&out, &wrong}) {
    CHECK(o->message.find(secret) == std::string::npos);
    CHECK(o->data.dump().find(secret) == std::string::npos);
    for (const auto& obs : o->observations) CHECK(obs.value.find(secret) == std::string::npos);
  }
  for (const auto& line : f.log) CHECK(line.find(secret) == std::string::npos);
  CHECK(http::probe_action().describe(Params(params)).find(secret) == std::string::npos);
}

TEST_CASE("retrying until healthy succeeds once the server comes up after 2 s", "[http]") {
  auto server = testing::HttpServer::healthy_after(2s);
  Fixture f;
  // What the executor's `retry: {until: 10s, every: 250ms}` does: run until ok while the
  // failure is transient.
  auto start = std::chrono::steady_clock::now();
  Outcome out;
  int attempts = 0;
  do {
    if (attempts++) std::this_thread::sleep_for(250ms);
    out = f.probe({{"url", server->url("/health")}, {"expect_status", 200}});
    if (!out.ok) {
      REQUIRE(out.transient);
      CHECK(out.message.find("got 503") != std::string::npos);
    }
  } while (!out.ok && std::chrono::steady_clock::now() - start < 10s);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(out.ok);
  CHECK(attempts > 2);
  CHECK(took >= 1900ms);
  CHECK(took < 4s);
}

TEST_CASE("100 parallel probes take about one probe's latency", "[http]") {
  auto server = testing::HttpServer::slow(200ms);
  Fixture f;
  nlohmann::json urls = nlohmann::json::array();
  for (int i = 0; i < 100; ++i) urls.push_back(server->url("/health?i=" + std::to_string(i)));
  auto start = std::chrono::steady_clock::now();
  auto out = f.probe({{"urls", urls}, {"parallel", true}});
  auto took = std::chrono::steady_clock::now() - start;
  INFO(out.message);
  CHECK(out.ok);
  CHECK(observation(out, "healthy") == "100/100");
  CHECK(server->requests() == 100);
  CHECK(took < 1500ms);  // sequential would take 20 s; the bench target is < 0.6 s
}

TEST_CASE("one failing URL among many is named in the message", "[http]") {
  auto good = testing::HttpServer::healthy();
  auto bad = testing::HttpServer::failing();
  Fixture f;
  auto out = f.probe({{"urls", {good->url("/a"), bad->url("/b"), good->url("/c")}}, {"parallel", true}});
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("1 of 3 URLs failed") != std::string::npos);
  CHECK(out.message.find(bad->url("/b")) != std::string::npos);
  CHECK(observation(out, "healthy") == "2/3");
}

TEST_CASE("http.request sends JSON with a POST and checks the status", "[http]") {
  auto server = testing::HttpServer::healthy();
  Fixture f;
  auto out = http::request_action().run(
      f.ctx, Params(nlohmann::json{{"url", server->url("/maintenance")}, {"json", {{"enabled", true}}}}));
  INFO(out.message);
  CHECK(out.ok);
  CHECK(nlohmann::json::parse(server->last_body()) == nlohmann::json{{"enabled", true}});
  CHECK(server->last_header("Content-Type") == "application/json");
  auto failing = testing::HttpServer::failing();
  auto bad = http::request_action().run(f.ctx, Params(nlohmann::json{{"url", failing->url("/hook")}, {"body", "x"}}));
  CHECK_FALSE(bad.ok);
  CHECK(bad.message.find("POST " + failing->url("/hook")) != std::string::npos);
}
