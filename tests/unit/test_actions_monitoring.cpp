// prometheus.query and alertmanager.alerts, their pure halves: answers recorded from
// Prometheus 2.42 and Alertmanager 0.25, judged without a server. The real servers are in
// tests/monitoring.
#include <catch2/catch.hpp>

#include <cmath>

#include <rollback/actions/monitoring.hpp>
#include <rollback/engine/criteria_state.hpp>
#include <rollback/util/time.hpp>

using namespace rollback;
using namespace rollback::actions::monitoring;

namespace {

constexpr const char* kVector = R"({"status":"success","data":{"resultType":"vector","result":[
  {"metric":{"job":"api","code":"500"},"value":[1765000000.123,"0.75"]},
  {"metric":{"job":"api","code":"502"},"value":[1765000000.123,"0.02"]}]}})";

std::vector<Series> series_of(const char* body) {
  auto answer = parse_query_answer(body);
  REQUIRE(answer);
  return answer->series;
}

}  // namespace

TEST_CASE("a vector answer gives one series per label set, labels written as PromQL writes them",
          "[actions][monitoring]") {
  auto s = series_of(kVector);
  REQUIRE(s.size() == 2);
  CHECK(s[0].labels == R"({code="500",job="api"})");
  CHECK(s[0].value == 0.75);
  auto scalar =
      series_of(R"({"status":"success","data":{"resultType":"scalar","result":[1.5,"+Inf"]}})");
  REQUIRE(scalar.size() == 1);
  CHECK(std::isinf(scalar[0].value));
}

TEST_CASE("a refused query keeps Prometheus' own error type and text", "[actions][monitoring]") {
  auto answer = parse_query_answer(
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error: unexpected <by>"})");
  REQUIRE(answer);
  CHECK(answer->refused);
  CHECK(answer->error_type == "bad_data");
  CHECK(answer->plan_error);
  CHECK_THAT(answer->error, Catch::Contains("parse error"));
}

TEST_CASE("a range vector result is refused with how to make it an instant one",
          "[actions][monitoring]") {
  auto answer =
      parse_query_answer(R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  REQUIRE(answer);
  CHECK(answer->plan_error);
  CHECK_THAT(answer->error, Catch::Contains("rate()"));
}

TEST_CASE("every series must meet expect by default, any one with per_series: any",
          "[actions][monitoring]") {
  auto s = series_of(kVector);
  auto le_half = *parse_comparison("<= 0.5");
  auto all = judge_query(s, le_half, OnEmpty::Fail, PerSeries::All);
  CHECK_FALSE(all.ok);
  CHECK(all.number == 0.75);  // the worst, by expect's direction
  CHECK_THAT(all.problem, Catch::Contains("1 of 2 do"));
  CHECK(judge_query(s, le_half, OnEmpty::Fail, PerSeries::Any).ok);
  auto ge_half = judge_query(s, *parse_comparison(">= 0.5"), OnEmpty::Fail, PerSeries::All);
  CHECK(ge_half.number == 0.02);  // lower is worse here
}

TEST_CASE("no data fails unless on_empty: pass, and NaN counts as no data",
          "[actions][monitoring]") {
  auto cmp = *parse_comparison("<= 0.05");
  auto none = judge_query({}, cmp, OnEmpty::Fail, PerSeries::All);
  CHECK_FALSE(none.ok);
  CHECK(none.observed == "no data");
  CHECK(judge_query({}, cmp, OnEmpty::Pass, PerSeries::All).ok);
  auto nan = series_of(
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}})");
  auto judged = judge_query(nan, cmp, OnEmpty::Fail, PerSeries::All);
  CHECK_FALSE(judged.ok);
  CHECK(judged.empty);
  CHECK_FALSE(judged.number);
}

TEST_CASE("alerts keep their name, other labels, startsAt and state", "[actions][monitoring]") {
  auto alerts = parse_alerts(R"([{"labels":{"alertname":"WebhookErrors","env":"staging"},
    "startsAt":"2026-12-07T03:00:01.5Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}])");
  REQUIRE(alerts);
  REQUIRE(alerts->size() == 1);
  CHECK(alerts->front().name == "WebhookErrors");
  CHECK(alerts->front().labels == R"({env="staging"})");
  CHECK(alerts->front().started == parse_iso_utc("2026-12-07T03:00:01.500Z"));
  CHECK(alerts->front().state == "active");
}

TEST_CASE("matchers split at commas outside quotes and refuse what is not a matcher",
          "[actions][monitoring]") {
  auto m = split_matchers(R"(alertname="WebhookErrors", env=~"stag,ing|prod", team!=ops)");
  REQUIRE(m);
  CHECK(*m == std::vector<std::string>{R"(alertname="WebhookErrors")", R"(env=~"stag,ing|prod")",
                                       R"(team!="ops")"});
  CHECK(split_matchers(R"({alertname="X"})"));
  CHECK(split_matchers(nlohmann::json::array({"alertname=X", "env=staging"}))->size() == 2);
  CHECK_FALSE(split_matchers("alertname"));
  CHECK_FALSE(split_matchers(""));
}

TEST_CASE("an alert's startsAt, earlier than the first failing check, is when the incident began",
          "[actions][monitoring][check]") {
  engine::CriteriaState state;
  auto now = *parse_iso_utc("2026-12-07T03:05:00Z");
  engine::ProbeResult probe{{"alert", engine::Severity::Critical, Millis(0)},
                            true,
                            "alerts=WebhookErrors",
                            {},
                            parse_iso_utc("2026-12-07T03:00:00Z")};
  auto decision = engine::decide_check(state, "plan", {probe}, true, Millis(0), now);
  CHECK(engine::incident_of(decision)["began"] == "2026-12-07T03:00:00Z");
}
