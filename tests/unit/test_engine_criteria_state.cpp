#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <support/temp_dir.hpp>

#include <rollback/engine/criteria_state.hpp>
#include <rollback/util/time.hpp>

using namespace rollback;
using namespace rollback::engine;
using namespace std::chrono_literals;

namespace {

const SystemTime t0 = *parse_iso_utc("2025-01-27T18:00:00Z");
const Criterion api_down{"api down", Severity::Critical, 5min};

}  // namespace

TEST_CASE("a server down for less than `for:` never holds across repeated checks", "[criteria]") {
  CriteriaState state;
  for (int minute = 0; minute < 5; ++minute) {
    auto e = update(state, "emergency", api_down, true, "connection refused", t0 + minute * 1min);
    CHECK(e.failing);
    CHECK_FALSE(e.holding);
    CHECK(e.failing_for == Millis(minute * 60'000));
  }
  auto up = update(state, "emergency", api_down, false, "200", t0 + 5min);
  CHECK_FALSE(up.failing);
  CHECK_FALSE(up.holding);
  // Down again: the streak starts over instead of adding to the earlier 4 minutes.
  auto again = update(state, "emergency", api_down, true, "refused", t0 + 6min);
  CHECK_FALSE(again.holding);
  CHECK(again.failing_for == Millis(0));
  CHECK(again.consecutive_failures == 1);
  CHECK(summarize({again}).exit == ExitCode::Success);
}

TEST_CASE("a server down for at least `for:` holds and exits critical", "[criteria]") {
  CriteriaState state;
  Evaluation e;
  for (int minute = 0; minute <= 5; ++minute)
    e = update(state, "emergency", api_down, true, "refused", t0 + minute * 1min);
  CHECK(e.holding);
  CHECK(e.consecutive_failures == 6);
  CHECK(e.failing_for == Millis(300'000));
  auto verdict = summarize({e});
  CHECK(verdict.exit == ExitCode::CheckCritical);
  CHECK(verdict.critical_holding == std::vector<std::string>{"api down"});
}

TEST_CASE("recovery clears the failing streak", "[criteria]") {
  CriteriaState state;
  update(state, "p", api_down, true, "refused", t0);
  update(state, "p", api_down, true, "refused", t0 + 10min);
  auto ok = update(state, "p", api_down, false, "200", t0 + 11min);
  CHECK_FALSE(ok.holding);
  const auto& record = state.plans["p"].criteria["api down"];
  CHECK_FALSE(record.first_failed_at);
  CHECK(record.consecutive_failures == 0);
  CHECK(record.last_value == "200");
  CHECK(record.last_checked == t0 + 11min);
}

TEST_CASE("a criterion without `for:` holds at its first failure", "[criteria]") {
  CriteriaState state;
  auto e = update(state, "p", {"db", Severity::Critical, 0ms}, true, "no route", t0);
  CHECK(e.holding);
}

TEST_CASE("two criteria keep independent streaks and warnings exit 10", "[criteria]") {
  CriteriaState state;
  Criterion slow{"slow", Severity::Warning, 2min};
  update(state, "p", api_down, true, "refused", t0);
  update(state, "p", slow, true, "3.1s", t0);
  auto a = update(state, "p", api_down, true, "refused", t0 + 3min);
  auto b = update(state, "p", slow, true, "3.4s", t0 + 3min);
  CHECK_FALSE(a.holding);
  CHECK(b.holding);
  auto verdict = summarize({a, b});
  CHECK(verdict.exit == ExitCode::CheckWarning);
  CHECK(verdict.warning_holding == std::vector<std::string>{"slow"});
  CHECK(verdict.failing_not_holding == std::vector<std::string>{"api down"});
  // The same criterion name in another plan is another streak.
  CHECK_FALSE(update(state, "other", slow, true, "3s", t0 + 3min).holding);
}

TEST_CASE("cooldown holds after an automatic run and restarts the streaks", "[criteria]") {
  CriteriaState state;
  CHECK_FALSE(in_cooldown(state, "p", 30min, t0));
  update(state, "p", api_down, true, "refused", t0);
  record_auto_run(state, "p", "20250127-180500-ab12", t0 + 5min);
  CHECK(in_cooldown(state, "p", 30min, t0 + 20min));
  CHECK_FALSE(in_cooldown(state, "p", 30min, t0 + 35min));
  CHECK_FALSE(in_cooldown(state, "other", 30min, t0 + 20min));
  CHECK_FALSE(state.plans["p"].criteria["api down"].first_failed_at);
  CHECK(state.plans["p"].last_auto_run_id == "20250127-180500-ab12");
}

TEST_CASE("criteria state survives a save and load", "[criteria]") {
  testing::TempDir dir;
  auto path = dir / "state/criteria.json";
  CriteriaState state;
  update(state, "p", api_down, true, "refused", t0);
  update(state, "p", api_down, true, "refused \"again\"", t0 + 1min);
  record_auto_run(state, "q", "run-1", t0);
  REQUIRE(save_criteria_state(state, path));
  auto loaded = load_criteria_state(path);
  CHECK(loaded.warning.empty());
  const auto& record = loaded.state.plans["p"].criteria["api down"];
  CHECK(record.first_failed_at == t0);
  CHECK(record.consecutive_failures == 2);
  CHECK(record.last_value == "refused \"again\"");
  CHECK(loaded.state.plans["q"].last_auto_run_at == t0);
  // The next invocation continues the streak from the file.
  auto e = update(loaded.state, "p", api_down, true, "refused", t0 + 5min);
  CHECK(e.holding);
}

TEST_CASE("a missing state file is an empty state and a corrupt one is reported", "[criteria]") {
  testing::TempDir dir;
  auto missing = load_criteria_state(dir / "criteria.json");
  CHECK(missing.warning.empty());
  CHECK(missing.state.plans.empty());
  for (std::string text : {"{\"plans\": {\"p\": ", "[1,2]", "{\"plans\": {\"p\": 3}}"}) {
    testing::write_text(dir / "criteria.json", text);
    auto loaded = load_criteria_state(dir / "criteria.json");
    CHECK(loaded.state.plans.empty());
    CHECK(loaded.warning.find("criteria.json: ignored") != std::string::npos);
  }
}

TEST_CASE("criteria of a plan that are gone are forgotten", "[criteria]") {
  CriteriaState state;
  update(state, "p", api_down, true, "x", t0);
  update(state, "p", {"old", Severity::Warning, 0ms}, true, "x", t0);
  forget_other_criteria(state, "p", {"api down"});
  CHECK(state.plans["p"].criteria.size() == 1);
  CHECK(state.plans["p"].criteria.contains("api down"));
}

TEST_CASE("UTC timestamps round-trip and reject other forms", "[criteria]") {
  CHECK(format_utc(t0, kIsoSecondsUtc) == "2025-01-27T18:00:00Z");
  CHECK(parse_iso_utc("2025-01-27T18:00:00Z") == t0);
  CHECK(parse_iso_utc("2025-01-27T18:00:00.250Z") == t0 + 250ms);
  CHECK(parse_iso_utc("2025-01-27T18:00:00.926295502Z") == t0 + 926ms);  // Docker's StartedAt
  CHECK_FALSE(parse_iso_utc("2025-01-27 18:00:00"));
  CHECK_FALSE(parse_iso_utc("2025-01-27T18:00:00+01:00"));
  CHECK_FALSE(parse_iso_utc(""));
}

TEST_CASE("a plan criterion maps to its severity and `for:`", "[criteria]") {
  plan::Criterion warning;
  warning.name = "slow";
  warning.critical = false;
  auto c = criterion_of(warning);
  CHECK(c.severity == Severity::Warning);
  CHECK(c.hold_for == Millis(0));
  warning.critical = true;
  warning.hold_for = Millis(300'000);
  CHECK(criterion_of(warning).severity == Severity::Critical);
  CHECK(criterion_of(warning).hold_for == Millis(300'000));
}

TEST_CASE("a check decides to run the plan only with --auto, a holding critical and no cooldown",
          "[criteria]") {
  CriteriaState state;
  Criterion slow{"slow", Severity::Warning, 0ms};
  auto probes = [&](bool api_failed) {
    return std::vector<ProbeResult>{{api_down, api_failed, api_failed ? "refused" : "200"},
                                    {slow, true, "3.2s"}};
  };
  auto first = decide_check(state, "p", probes(true), true, kDefaultCooldown, t0);
  CHECK(first.verdict.exit == ExitCode::CheckWarning);
  CHECK_FALSE(first.run_plan);
  auto watching = decide_check(state, "p", probes(true), false, kDefaultCooldown, t0 + 5min);
  CHECK(watching.verdict.exit == ExitCode::CheckCritical);
  CHECK_FALSE(watching.run_plan);  // without --auto nothing runs
  auto automatic = decide_check(state, "p", probes(true), true, kDefaultCooldown, t0 + 6min);
  CHECK(automatic.run_plan);
  record_auto_run(state, "p", "run-1", t0 + 6min);
  // Still down after the rollback: the streak restarted and the cooldown holds.
  for (auto minute : {7min, 12min, 20min}) {
    auto later = decide_check(state, "p", probes(true), true, kDefaultCooldown, t0 + minute);
    CHECK_FALSE(later.run_plan);
  }
  auto cooling = decide_check(state, "p", probes(true), true, kDefaultCooldown, t0 + 30min);
  CHECK(cooling.verdict.exit == ExitCode::CheckCritical);  // held since 7min, for 5m
  CHECK(cooling.cooling_down);
  CHECK_FALSE(cooling.run_plan);
  auto after = decide_check(state, "p", probes(true), true, kDefaultCooldown, t0 + 37min);
  CHECK(after.run_plan);
}

TEST_CASE("an evaluation reads as one line for the console", "[criteria]") {
  CriteriaState state;
  update(state, "p", api_down, true, "connection refused", t0);
  auto e = update(state, "p", api_down, true, "connection refused", t0 + 3min);
  CHECK(format_evaluation(e) ==
        "critical api down: failing for 3m00s (2 checks), would hold at 5m00s; saw: "
        "connection refused");
  auto ok = update(state, "p", {"slow", Severity::Warning, 0ms}, false, "35ms", t0);
  CHECK(format_evaluation(ok) == "warning slow: ok (saw: 35ms)");
}

TEST_CASE("a failing streak keeps its first, last and worst observed values for the incident log, worst by the "
          "observation's own direction, and survives the state file",
          "[criteria][incident]") {
  using Worse = actions::Observation::Worse;
  testing::TempDir dir;
  auto file = dir / "criteria.json";
  auto probe = [](double ms, bool ok) {
    return std::vector<actions::Observation>{{"latency", fmt::format("{}ms", ms), ok, ms, Worse::Higher}};
  };
  const Criterion slow{"slow", Severity::Critical, 3min};
  CriteriaState state;
  (void)update(state, "coolify", slow, false, "latency=80ms", t0, probe(80, true));
  (void)update(state, "coolify", slow, true, "latency=3500ms", t0 + 1min, probe(3500, false));
  REQUIRE(save_criteria_state(state, file));
  state = load_criteria_state(file).state;  // cron: one process per check
  (void)update(state, "coolify", slow, true, "latency=5200ms", t0 + 2min, probe(5200, false));
  auto e = update(state, "coolify", slow, true, "latency=4100ms", t0 + 4min, probe(4100, false));
  CHECK(e.holding);
  CHECK(e.failing_since == t0 + 1min);
  CHECK(e.first_value == "latency=3500ms");
  CHECK(e.value == "latency=4100ms");
  CHECK(e.worst_value == "latency=5200ms");

  // A count that must stay >= 1 gets worse downwards.
  const Criterion calls{"calls", Severity::Critical, 0min};
  for (double n : {3.0, 0.0, 1.0})
    (void)update(state, "coolify", calls, true, fmt::format("value={}", n), t0,
                 {{"value", fmt::format("{}", n), false, n, Worse::Lower}});
  CHECK(state.plans["coolify"].criteria["calls"].worst_value == "value=0");

  CheckDecision d;
  d.evaluations = {e, update(state, "coolify", Criterion{"errors", Severity::Warning, 1min}, true, "500", t0 + 4min)};
  auto incident = incident_of(d);
  CHECK(incident["began"] == "2025-01-27T18:01:00Z");
  CHECK(incident["fired"] == nlohmann::json({"slow"}));
  REQUIRE(incident["criteria"].size() == 2);
  CHECK(incident["criteria"][0]["worst"] == "latency=5200ms");
  CHECK(incident["criteria"][1]["fired"] == false);

  // Passing again ends the streak and forgets its values.
  auto up = update(state, "coolify", slow, false, "latency=90ms", t0 + 5min, probe(90, true));
  CHECK(state.plans["coolify"].criteria["slow"].first_value.empty());
  CHECK(state.plans["coolify"].criteria["slow"].worst_value.empty());
  CHECK_FALSE(up.failing_since);
}
