// `rollback check PLAN [--auto]`: probe the plan's criteria once; a criterion holds only
// after failing continuously for its `for:` (kept across invocations in criteria.json), so
// one blip never triggers. With --auto a holding critical criterion runs the plan
// unattended, under the lock, at most once per cooldown (field lesson 9).
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_view.hpp>
#include <rollback/engine/criteria_state.hpp>
#include <rollback/engine/probe.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {

namespace {

constexpr Millis kProbeTimeout{30'000};

struct CheckArgs {
  RunArgs run;  // plan, --var/--vars, --reason, --operator, --report for the auto run
  bool auto_run = false;
};

std::vector<engine::ProbeResult> probe_all(const plan::Plan& plan, const plan::Scope& scope) {
  auto& runner = system_runner();
  std::vector<engine::ProbeResult> results;
  for (const auto& c : plan.criteria) {
    auto probe = engine::run_probe(actions::builtin_registry(), runner, c.probe, scope, kProbeTimeout);
    results.push_back({engine::criterion_of(c), !probe.outcome.ok, probe.observed, probe.outcome.observations,
                       probe.outcome.began, probe.outcome.plan_error});
  }
  return results;
}

void print_evaluations(const GlobalOptions& global, const std::vector<engine::Evaluation>& evals) {
  if (global.json) return;
  for (const auto& e : evals) std::printf("%s\n", redact(engine::format_evaluation(e)).c_str());
}

std::string auto_reason(const engine::CheckDecision& d) {
  std::string held;
  for (const auto& e : d.evaluations)
    if (e.holding && e.severity == engine::Severity::Critical)
      held += fmt::format("{}{} (failing for {}; saw: {})", held.empty() ? "" : "; ", e.name,
                          format_duration(e.failing_for), e.value);
  return "rollback check --auto: critical criteria held: " + held;
}

// The unattended run. The lock is taken before the cooldown is looked at again, so of many
// cron invocations that all saw the criterion hold, exactly one runs and the rest see the
// lock (exit 3) or, after it ended, the cooldown.
int run_automatically(const GlobalOptions& global, const CheckArgs& a, const plan::Plan& plan,
                      const std::filesystem::path& state_file, const engine::CheckDecision& d,
                      const nlohmann::json& criteria) {
  RunArgs run = a.run;
  run.json_extra = {{"criteria", criteria}, {"started_by", "check --auto"}};
  run.yes = true;
  run.lock_held = true;
  run.unattended = true;
  run.incident = engine::incident_of(d);  // the run adds the application's logs
  // What the criteria that held mean for the run (`vars:`, such as restore_database: yes for
  // corrupt data): before the operator's own --var, which win.
  std::vector<std::string> vars;
  for (const auto& e : d.evaluations)
    if (e.holding && e.severity == engine::Severity::Critical)
      for (const auto& c : plan.criteria)
        if (c.name == e.name)
          for (const auto& [k, v] : c.vars) vars.push_back(k + "=" + v);
  vars.insert(vars.end(), run.vars.begin(), run.vars.end());
  run.vars = std::move(vars);
  run.run_id = engine::new_run_id(plan.name, std::chrono::system_clock::now());
  if (run.reason.empty()) run.reason = auto_reason(d);
  if (run.operator_name.empty()) run.operator_name = "rollback check --auto (" + login_name() + ")";
  RunView view(global);
  auto service = run_service(global, view);
  auto lock = engine::take_run_lock(
      service.deps(), engine::LockHolder{.run_id = run.run_id, .operator_name = run.operator_name, .plan = plan.name});
  if (!lock) {
    std::fprintf(stderr, "a run is in progress; it is left alone\n");
    return to_int(ExitCode::Locked);
  }
  {
    engine::CriteriaStateLock serialized(state_file);
    auto fresh = engine::load_criteria_state(state_file);
    auto now = std::chrono::system_clock::now();
    if (engine::in_cooldown(fresh.state, plan.name, plan.cooldown.value_or(engine::kDefaultCooldown), now)) {
      std::fprintf(global.json ? stderr : stdout,
                   "critical criteria hold, but %s ran automatically less than %s ago: not running again\n",
                   plan.name.c_str(), format_duration(plan.cooldown.value_or(engine::kDefaultCooldown)).c_str());
      if (global.json) emit_json({{"criteria", criteria}, {"cooling_down", true}, {"exit_code", to_int(ExitCode::CheckCritical)}});
      return to_int(ExitCode::CheckCritical);
    }
    engine::record_auto_run(fresh.state, plan.name, run.run_id, now);
    if (auto saved = engine::save_criteria_state(fresh.state, state_file); !saved)
      print_error("cannot record the automatic run in " + state_file.string() + ": " + saved.error().message);
  }
  std::fprintf(global.json ? stderr : stdout, "critical criteria hold: running plan %s unattended (run %s)\n",
               plan.name.c_str(), run.run_id.c_str());
  std::fflush(global.json ? stderr : stdout);
  return run_plan(global, run);
}

int check(const GlobalOptions& global, const CheckArgs& a) {
  if (!vars_file_trusted(a.run.vars_file, global)) return to_int(ExitCode::Usage);
  auto loaded = load_plan_or_report(a.run.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  const plan::Plan& plan = *loaded;
  // The criteria are probed with the plan's own vars; a --var only its fallback declares is
  // for the run --auto may start. The pair must load before anything is probed.
  RunArgs own = a.run;
  if (!plan.fallback.plan.empty()) {
    auto fallback = load_fallback_or_report(plan, global);
    if (!fallback) return to_int(ExitCode::Usage);
    auto taken = engine::request_for_plan(plan, a.run, *fallback);
    if (!taken) {
      print_error(taken.error().message + ". Nothing ran.");
      return to_int(ExitCode::Usage);
    }
    own = *taken;
  }
  if (plan.criteria.empty()) {
    print_error(fmt::format("plan '{}' has no criteria to check (add a `criteria:` section)", plan.name));
    return to_int(ExitCode::Usage);
  }
  plan::Scope scope;
  if (auto bound = engine::bind_request(plan, own, scope); !bound) {
    print_error(bound.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }

  auto probes = probe_all(plan, scope);
  // A criterion its service refuses as written (bad PromQL) says nothing about the service:
  // counting it as failing would roll back over a typo once `for:` passed.
  bool refused = false;
  for (const auto& p : probes) {
    if (!p.plan_error) continue;
    print_error(fmt::format("criterion '{}': {}", p.criterion.name, p.observed));
    refused = true;
  }
  if (refused) return to_int(ExitCode::Usage);
  auto state_file = state_dir(global) / "criteria.json";
  engine::CheckDecision decision;
  {
    engine::CriteriaStateLock serialized(state_file);
    auto loaded_state = engine::load_criteria_state(state_file);
    if (!loaded_state.warning.empty()) std::fprintf(stderr, "warning: %s\n", loaded_state.warning.c_str());
    auto now = std::chrono::system_clock::now();
    decision = engine::decide_check(loaded_state.state, plan.name, probes, a.auto_run,
                                    plan.cooldown.value_or(engine::kDefaultCooldown), now);
    if (auto saved = engine::save_criteria_state(loaded_state.state, state_file); !saved)
      print_error("cannot save " + state_file.string() + ": " + saved.error().message);
  }
  print_evaluations(global, decision.evaluations);
  nlohmann::json criteria = nlohmann::json::array();
  for (const auto& e : decision.evaluations)
    criteria.push_back({{"name", e.name}, {"critical", e.severity == engine::Severity::Critical},
                        {"failing", e.failing}, {"holding", e.holding}, {"failing_for_ms", e.failing_for.count()},
                        {"hold_for_ms", e.hold_for.count()}, {"observed", redact(e.value)}});
  // An automatic run prints its own result, which then carries the criteria: one document.
  if (decision.run_plan) return run_automatically(global, a, plan, state_file, decision, criteria);
  if (global.json) emit_json({{"criteria", criteria}, {"exit_code", to_int(decision.verdict.exit)}});
  if (decision.cooling_down && a.auto_run && !global.json)
    std::printf("critical criteria hold, but the plan ran automatically within its cooldown: not running again\n");
  return to_int(decision.verdict.exit);
}

}  // namespace

void add_check_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("check", "Evaluate a plan's criteria; --auto runs it when a critical one holds");
  auto args = std::make_shared<CheckArgs>();
  sub->add_option("plan", args->run.plan, "Plan name or path")->required();
  sub->add_flag("--auto", args->auto_run, "Run the plan unattended (implies --yes) when a critical criterion holds");
  sub->add_option("--var", args->run.vars, "Override a plan var: KEY=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--vars", args->run.vars_file, "Override plan vars from a YAML map file");
  sub->add_option("--reason", args->run.reason, "Reason for an automatic run (default: the criteria that held)");
  sub->add_option("--operator", args->run.operator_name, "Operator named in an automatic run's report");
  sub->add_option("--report", args->run.report, "Where an automatic run's report goes");
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return check(global, *args); };
  });
}

}  // namespace rollback::cli
