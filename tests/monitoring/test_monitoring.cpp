// prometheus.query and alertmanager.alerts through the binary (`check`, `check --auto`,
// dry-run) against one real Prometheus and one real Alertmanager shared by every case
// (monitoring/stack.hpp): starting them once keeps this binary to a few tens of seconds.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

#include <rollback/actions/action.hpp>
#include <rollback/util/redact.hpp>

#include "integration/cli_spawn.hpp"
#include "monitoring/stack.hpp"
#include "support/action_harness.hpp"
#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using monitoring_test::Stack;
using testing::read_text;
using testing::write_text;

namespace {

constexpr const char* kRatio =
    R"(sum(rate(http_requests_total{job="JOB",code=~"5.."}[30s])) / sum(rate(http_requests_total{job="JOB"}[30s])))";

std::string ratio_for(const std::string& job) {
  std::string q = kRatio;
  for (auto at = q.find("JOB"); at != std::string::npos; at = q.find("JOB")) q.replace(at, 3, job);
  return q;
}

// A plan whose one critical criterion is `probe` (a YAML flow map) held for `hold`; its one
// step appends to a marker file, so a test counts the rollbacks.
std::string plan_with(const fs::path& dir, const std::string& probe, const std::string& hold) {
  return fmt::format(R"(version: 1
name: guarded-by-monitoring
vars:
  marker: {0}/rollbacks
secrets:
  prom_token: {{env: PROM_TOKEN}}
cooldown: 1h
criteria:
  critical:
    - name: monitoring says so
      probe: {1}
{2}steps:
  - id: roll-back
    action: exec.run
    with: {{argv: [sh, -c, 'echo rolled >> "$M"'], env: {{M: "${{marker}}"}}}}
)",
                     dir.string(), probe, hold.empty() ? "" : "      for: " + hold + "\n");
}

std::string prometheus_probe(const std::string& query, const std::string& extra = "") {
  return fmt::format(
      R"({{action: prometheus.query, with: {{url: "{}", query: '{}', expect: "<= 0.5"{}}}}})",
      Stack::shared().prometheus_url(), query, extra);
}

testing::CommandResult check(const testing::TempDir& dir, bool auto_run = false) {
  std::vector<std::string> args = {"--state-dir", (dir / "state").string(), "check",
                                   (dir / "plan.yaml").string()};
  if (auto_run) args.push_back("--auto");
  return testing::run_rollback(args, {{"PROM_TOKEN", "tok-9f8e7d6c"}});
}

size_t rollbacks(const testing::TempDir& dir) {
  auto text = read_text(dir / "rollbacks");
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Repeats `check` until its exit code is `want` (or `limit` passes); the last result.
testing::CommandResult check_until(const testing::TempDir& dir, int want,
                                   std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto r = check(dir);
    if (r.exit_code == want || std::chrono::steady_clock::now() > until) return r;
    std::this_thread::sleep_for(500ms);
  }
}

}  // namespace

TEST_CASE("with the exporter healthy, a Prometheus error-ratio criterion passes and check exits 0",
          "[monitoring][prometheus]") {
  testing::TempDir dir;
  write_text(
      dir / "plan.yaml",
      plan_with(dir.path(),
                prometheus_probe(ratio_for("steady"), ", token: \"${secrets.prom_token}\""), "3s"));
  auto r = check(dir);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("ok (saw: value=0"));
  // The bearer token went to Prometheus, never into an output or the state.
  CHECK(r.out.find("tok-9f8e7d6c") == std::string::npos);
  CHECK(r.err.find("tok-9f8e7d6c") == std::string::npos);
  CHECK(read_text(dir / "state" / "criteria.json").find("tok-9f8e7d6c") == std::string::npos);
}

TEST_CASE(
    "a 5xx ratio above 50% held for 3s under a real Prometheus makes 20 parallel check --auto "
    "run the plan once",
    "[monitoring][prometheus]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", plan_with(dir.path(), prometheus_probe(ratio_for("flaky")), "3s"));
  REQUIRE(check(dir).exit_code == 0);
  Stack::shared().flaky().fail();
  // Plain `check` until the criterion holds: the ratio crosses 0.5 a scrape or two after
  // the exporter fails, then the streak must last 3 s.
  auto held = check_until(dir, 11, 40s);
  INFO(held.out << held.err);
  REQUIRE(held.exit_code == 11);
  CHECK_THAT(held.out, Catch::Contains("holds at 3.0s"));
  CHECK(rollbacks(dir) == 0);

  ::setenv("PROM_TOKEN", "tok-9f8e7d6c", 1);  // the plan's secret, for the spawned runs
  std::vector<cli_test::Background> runs;
  for (int i = 0; i < 20; ++i)
    runs.push_back(cli_test::spawn_rollback(
        {"--state-dir", (dir / "state").string(), "check", (dir / "plan.yaml").string(), "--auto"},
        dir.path(), fmt::format("cron-{}", i)));
  std::string report;
  std::map<int, int> exits;
  int ran_the_plan = 0;
  for (auto& run : runs) {
    ++exits[cli_test::wait_exit(run.pid, 60s)];
    if (auto path = testing::report_path_of(read_text(run.out)); !path.empty()) {
      report = path;
      ++ran_the_plan;
    }
  }
  INFO("exit codes: " << nlohmann::json(exits).dump());
  CHECK(rollbacks(dir) == 1);
  CHECK(ran_the_plan == 1);
  // Besides the one that ran: the lock (3), its cooldown (11), or a streak it reset (0).
  CHECK(exits[0] + exits[3] + exits[11] == 20);
  std::printf("check --auto x20 under Prometheus: %zu rollback; exits 0:%d 3:%d 11:%d\n",
              rollbacks(dir), exits[0], exits[3], exits[11]);
  // The incident log has the criterion's first, worst and last observed ratio.
  REQUIRE_FALSE(report.empty());
  auto json = nlohmann::json::parse(read_text(fs::path(report).replace_extension(".json")));
  auto criteria = json["incident"]["criteria"];
  REQUIRE(criteria.size() == 1);
  CHECK_THAT(criteria[0]["worst"].get<std::string>(), Catch::StartsWith("value=0."));
  // The run restarted the streak; once it holds again, the cooldown keeps a second run away.
  auto again = check_until(dir, 11, 20s);
  CHECK(again.exit_code == 11);
  auto cooling = check(dir, true);
  INFO(cooling.out << cooling.err);
  CHECK(cooling.exit_code == 11);
  CHECK_THAT(cooling.out, Catch::Contains("not running again"));
  CHECK(rollbacks(dir) == 1);
}

TEST_CASE("with Prometheus down the criterion fails as unreachable rather than passing",
          "[monitoring][prometheus]") {
  testing::TempDir dir;
  monitoring_test::LonePrometheus lone;  // its own: the shared one stays up for the others
  write_text(
      dir / "plan.yaml",
      plan_with(
          dir.path(),
          fmt::format(
              R"({{action: prometheus.query, with: {{url: "{}", query: up, expect: ">= 1"}}}})",
              lone.url()),
          ""));
  auto up = check(dir);
  INFO(up.out << up.err);
  CHECK(up.exit_code == 0);
  lone.stop();
  auto r = check(dir);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 11);
  CHECK_THAT(r.out, Catch::Contains("value=unreachable"));
  CHECK_THAT(r.out, Catch::Contains("prometheus.query `up`: Prometheus at " + lone.url() +
                                    " unreachable"));
}

TEST_CASE(
    "bad PromQL is a plan error naming the query and Prometheus' own words, in check and dry-run",
    "[monitoring][prometheus]") {
  testing::TempDir dir;
  std::string bad = "sum(rate(http_requests_total[30s]) by";
  write_text(dir / "plan.yaml", plan_with(dir.path(), prometheus_probe(bad), ""));
  auto r = check(dir);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("prometheus.query `" + bad + "`"));
  CHECK_THAT(r.err, Catch::Contains("refused the query (bad_data)"));
  CHECK_THAT(r.err, Catch::Contains("parse error"));
  CHECK_FALSE(fs::exists(dir / "state" / "criteria.json"));  // no streak began over a typo

  // As a verify step, the same query stops a run at preflight, before anything changes.
  write_text(dir / "verify.yaml",
             fmt::format(R"(version: 1
name: verified
steps:
  - id: change
    action: exec.run
    destructive: true
    with: {{argv: [sh, -c, 'echo changed >> "{0}/changed"']}}
  - id: errors-back-to-normal
    phase: verify
    action: prometheus.query
    with: {{url: "{1}", query: '{2}', expect: "<= 0.05"}}
)",
                         dir.path().string(), Stack::shared().prometheus_url(), bad));
  auto run = testing::run_rollback(
      {"--state-dir", (dir / "state").string(), "run", (dir / "verify.yaml").string(), "--yes"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 4);
  CHECK_THAT(run.out + run.err, Catch::Contains("prometheus.query `" + bad + "`"));
  CHECK_FALSE(fs::exists(dir / "changed"));
  auto dry = testing::run_rollback({"--state-dir", (dir / "state").string(), "run",
                                    (dir / "verify.yaml").string(), "--dry-run"});
  CHECK(dry.exit_code != 0);
  CHECK_THAT(dry.out + dry.err, Catch::Contains("bad_data"));
}

TEST_CASE(
    "an alert fired by a real Prometheus rule trips alertmanager.alerts, names its startsAt, dates "
    "the "
    "incident, and a silence made through Alertmanager's API clears it",
    "[monitoring][alertmanager]") {
  auto& stack = Stack::shared();
  testing::TempDir dir;
  write_text(
      dir / "plan.yaml",
      plan_with(
          dir.path(),
          fmt::format(
              R"({{action: alertmanager.alerts, with: {{url: "{}", matchers: 'alertname="WebhookErrors", env="staging"'}}}})",
              stack.alertmanager_url()),
          ""));
  auto firing = check_until(dir, 11, 40s);
  INFO(firing.out << firing.err);
  REQUIRE(firing.exit_code == 11);
  CHECK_THAT(firing.out,
             Catch::Contains("alerts=WebhookErrors{env=\"staging\",severity=\"page\"} since 20"));

  // check --auto: the report's incident began when the alert started, not when cron saw it.
  auto alerts = nlohmann::json::parse(stack.get(
      stack.alertmanager_url() + "/api/v2/alerts?filter=alertname%3D%22WebhookErrors%22"));
  REQUIRE(alerts.size() == 1);
  auto started = alerts[0]["startsAt"].get<std::string>();
  auto ran = check(dir, true);
  INFO(ran.out << ran.err);
  REQUIRE(ran.exit_code == 0);
  auto report = nlohmann::json::parse(
      read_text(fs::path(testing::report_path_of(ran.out)).replace_extension(".json")));
  CHECK(report["incident"]["began"].get<std::string>().substr(0, 19) == started.substr(0, 19));

  auto silence = stack.post_json(stack.alertmanager_url() + "/api/v2/silences",
                                 nlohmann::json{{"matchers",
                                                 {{{"name", "alertname"},
                                                   {"value", "WebhookErrors"},
                                                   {"isRegex", false},
                                                   {"isEqual", true}}}},
                                                {"startsAt", monitoring_test::iso_in(-1s)},
                                                {"endsAt", monitoring_test::iso_in(1h)},
                                                {"createdBy", "rollback tests"},
                                                {"comment", "known: the webhook provider is down"}}
                                     .dump());
  REQUIRE_THAT(silence, Catch::Contains("silenceID"));
  auto cleared = check_until(dir, 0, 20s);
  INFO(cleared.out << cleared.err);
  CHECK(cleared.exit_code == 0);
  CHECK_THAT(cleared.out, Catch::Contains("alerts=none firing"));
}

TEST_CASE(
    "a token goes as a bearer header, user and password as basic auth, and neither into a "
    "message or a dry-run line",
    "[monitoring][prometheus]") {
  rollback::clear_secrets();
  rollback::register_secret("tok-5a4b3c");
  rollback::register_secret("pw-1q2w3e");
  testing::HttpBehaviour answer;
  answer.body = R"({"status":"success","data":{"resultType":"scalar","result":[1,"0.01"]}})";
  answer.content_type = "application/json";
  answer.required_header = "Authorization";
  answer.required_value = "Bearer tok-5a4b3c";
  testing::HttpServer behind_a_proxy(answer);  // Prometheus behind an authenticating proxy
  testing::ActionHarness h;
  nlohmann::json with = {{"url", behind_a_proxy.url("")},
                         {"query", "up"},
                         {"expect", "<= 0.05"},
                         {"token", "tok-5a4b3c"}};
  auto ok = h.run("prometheus.query", with);
  CHECK(ok.ok);
  with["token"] = "pw-1q2w3e";  // the wrong one: refused, and not shown
  auto refused = h.run("prometheus.query", with);
  CHECK_FALSE(refused.ok);
  CHECK_THAT(refused.message, Catch::Contains("answered status 401"));
  CHECK(refused.message.find("pw-1q2w3e") == std::string::npos);

  answer.required_value = "Basic d2F0Y2hlcjpwdy0xcTJ3M2U=";  // watcher:pw-1q2w3e
  testing::HttpServer basic(answer);
  nlohmann::json with_user = {{"url", basic.url("")},
                              {"query", "up"},
                              {"expect", "<= 0.05"},
                              {"user", "watcher"},
                              {"password", "pw-1q2w3e"}};
  CHECK(h.run("prometheus.query", with_user).ok);
  auto line = rollback::actions::builtin_registry()
                  .find("prometheus.query")
                  ->describe(rollback::actions::Params(with_user));
  CHECK(line.find("pw-1q2w3e") == std::string::npos);
}
