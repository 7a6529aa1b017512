#include <rollback/cli/fallback.hpp>

#include <cstdio>
#include <fmt/format.h>
#include <iostream>

#include <rollback/actions/action.hpp>
#include <rollback/cli/incident.hpp>
#include <rollback/cli/pipeline.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/engine/executor.hpp>
#include <rollback/plan/fallback.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

const plan::Step* step_of(const plan::Plan& plan, const std::string& id) {
  for (const auto& step : plan.steps)
    if (step.id == id) return &step;
  return nullptr;
}

bool step_reads_only(const plan::Plan& plan, const std::string& id) {
  const auto* step = step_of(plan, id);
  return step && plan::step_reads_only(actions::builtin_registry(), *step);
}

// Why a failed run cannot hand over after all ("" when it can): the load-time rule made
// sure of the plan, this checks what really happened (a resumed run, an action that said
// its failure did leave something behind).
std::string failed_problem(const plan::Plan& plan, const engine::RunRecord& record) {
  const engine::StepRecord* failing = nullptr;
  for (const auto& s : record.steps)
    if (s.status == engine::StepStatus::Failed && !s.failure_ignored && !failing) failing = &s;
  if (!failing) return "no step failed";
  const auto* step = step_of(plan, failing->id);
  if (!step || !plan::step_failure_changes_nothing(actions::builtin_registry(), *step))
    return fmt::format("step '{}' ({}) failed, and its action does not declare that a failure leaves things as "
                       "they were",
                       failing->id, failing->action);
  if (auto left = failing->data.find("failure_left_changes"); left != failing->data.end())
    return fmt::format("step '{}' failed but left something in progress: {}", failing->id, left->dump());
  for (const auto& s : record.steps) {
    bool touched = s.status != engine::StepStatus::Pending && s.status != engine::StepStatus::Skipped &&
                   s.status != engine::StepStatus::Described;
    if (&s != failing && touched && !step_reads_only(plan, s.id))
      return fmt::format("step '{}' ({}) had run ({}) and changes things", s.id, s.action, engine::to_string(s.status));
  }
  return "";
}

RunArgs args_with(const RunArgs& args, const std::map<std::string, std::string>& vars) {
  RunArgs out = args;
  out.vars.clear();
  out.vars_file.clear();
  for (const auto& [k, v] : vars) out.vars.push_back(k + "=" + v);
  return out;
}

// The first plan stopped before it had a journal (its target did not resolve or verify):
// its record goes into the run's journal all the same, so the report and `history` show it.
void journal_unstarted(PreparedRun& run) {
  if (auto made = make_private_dirs(run.run_dir); !made) return;
  engine::Journal journal(run.run_dir / "journal.jsonl");
  record_unexecuted(run, &journal, ExitCode::PreflightFailed, run.record.result_message);
}

int run_the_fallback(const GlobalOptions& global, const RunArgs& args, const plan::Plan& first, PreparedRun& run1,
                     const plan::Plan& second, const std::string& why) {
  const auto& spec = first.fallback;
  std::fprintf(global.json ? stderr : stdout, "\nplan %s hands over to its fallback, plan %s: %s\n\n",
               first.name.c_str(), second.name.c_str(), redact(why).c_str());
  std::fflush(global.json ? stderr : stdout);
  nlohmann::json event = {{"event", "fallback"}, {"from", first.name}, {"to", second.name}, {"why", redact(why)}};
  if (!spec.note.empty()) event["note"] = spec.note;
  engine::Journal journal(run1.run_dir / "journal.jsonl");
  (void)journal.append(event);
  if (global.json) emit_json_line(event);

  PreparedRun run2;
  if (run1.record.steps.empty()) engine::prepare_steps(first, run1.record);  // shown as not run
  run1.record.handed_over = redact(why);
  run2.record.fell_back_from.push_back(run1.record);
  run2.record.fallback_note = spec.note;
  if (auto it = run1.record.extra.find("incident"); it != run1.record.extra.end()) {
    run2.record.extra["incident"] = *it;  // one incident: read once, before the first plan ran
  }
  run2.record.unattended = args.unattended;
  run2.notify = {{first.notify, run1.scope}, {second.notify, std::nullopt}};
  int code = prepare_run(second, args, global, run2);
  if (code != 0) {
    report::ConsoleProgress console(global.json ? std::cerr : std::cout, console_options(global));
    auto message = run2.record.result_message.empty()
                       ? fmt::format("the fallback plan {} could not start (exit {}; the error is printed above)",
                                     second.name, code)
                       : run2.record.result_message;
    return finish_unexecuted(run2, &journal, static_cast<ExitCode>(code), message, args, global, console);
  }
  RunRequest request{.plan = second, .run = run2, .args = args, .global = global};
  return run_pipeline(request);
}

}  // namespace

std::optional<plan::Plan> load_fallback_or_report(const plan::Plan& plan, const GlobalOptions& global) {
  const auto& spec = plan.fallback;
  std::vector<fs::path> search{plan.path.has_parent_path() ? plan.path.parent_path() : fs::path(".")};
  for (const auto& dir : plan_search_path(global)) search.push_back(dir);
  auto path = plan::find_plan(spec.plan, search);
  if (!path) {
    print_error(fmt::format("{}: fallback.plan: {}", spec.where.str(), path.error().message));
    return std::nullopt;
  }
  auto loaded = plan::load_plan(*path, actions::builtin_registry());
  for (const auto& diagnostic : loaded.diagnostics) std::fprintf(stderr, "%s\n", redact(diagnostic.str()).c_str());
  if (!loaded.plan) {
    print_error(fmt::format("{}: fallback plan '{}' ({}) does not load: {} error(s) above", spec.where.str(),
                            spec.plan, path->string(), loaded.diagnostics.size()));
    return std::nullopt;
  }
  auto problems = plan::check_fallback_pair(plan, *loaded.plan);
  for (const auto& problem : problems) print_error(problem.str());
  if (!problems.empty()) return std::nullopt;
  return std::move(loaded.plan);
}

std::string fallback_reason(const plan::Plan& plan, engine::RunRecord& record) {
  const auto& spec = plan.fallback;
  if (spec.plan.empty()) return "";
  if (record.result == ExitCode::PreflightFailed && spec.on_preflight)
    return fmt::format("plan {} stopped before changing anything (exit 4; fallback.when: preflight): {}", plan.name,
                       record.result_message);
  if (record.result != ExitCode::StepFailed || !spec.on_failed) return "";
  if (auto problem = failed_problem(plan, record); !problem.empty()) {
    record.result_message += fmt::format("; no fallback to plan {}: {}", spec.plan, problem);
    return "";
  }
  return fmt::format("plan {} failed where a failure leaves things as they were (exit 1; fallback.when: failed): {}",
                     plan.name, record.result_message);
}

std::optional<RunArgs> args_for_plan(const plan::Plan& plan, const RunArgs& args, const plan::Plan& other) {
  auto given = collect_overrides(args);
  auto taken = given ? plan::overrides_for(plan, *given, &other)
                     : Result<std::map<std::string, std::string>>(std::unexpected(given.error()));
  if (!taken) {
    print_error(taken.error().message + ". Nothing ran.");
    return std::nullopt;
  }
  return args_with(args, *taken);
}

std::string describe_fallback(const plan::Plan& plan) {
  const auto& spec = plan.fallback;
  std::vector<std::string> cases;
  if (spec.on_preflight) cases.push_back("stops before changing anything (exit 4)");
  if (spec.on_failed)
    cases.push_back("fails at a step whose failure leaves things as they were, with only read-only steps done "
                    "(exit 1)");
  std::string when;
  for (size_t i = 0; i < cases.size(); ++i) when += (i ? " or " : "") + cases[i];
  return fmt::format("fallback: plan {} would run if this run {} (target: {}){}", spec.plan, when,
                     spec.target.empty() ? "its own default" : spec.target,
                     spec.note.empty() ? "" : "; note: " + spec.note);
}

int run_with_fallback(const GlobalOptions& global, const RunArgs& args, const plan::Plan& first,
                      const plan::Plan& second) {
  auto for_first = args_for_plan(first, args, second);
  auto for_second = for_first ? args_for_plan(second, args, first) : std::nullopt;
  if (!for_first || !for_second) return to_int(ExitCode::Usage);
  RunArgs args1 = *for_first, args2 = *for_second;
  args1.run_id = args2.run_id =
      args.run_id.empty() ? new_run_id(first.name, std::chrono::system_clock::now()) : args.run_id;
  args2.target = first.fallback.target;

  // One lock over both plans: nothing else may start between the hand-over and the fallback.
  engine::RunLock lock;
  if (!args.dry_run && !args.lock_held) {
    engine::RunRecord me;
    me.run_id = args1.run_id;
    me.operator_name = args.operator_name.empty() ? login_name() : args.operator_name;
    me.plan_name = first.name;
    auto taken = take_run_lock(global, me);
    if (!taken) return to_int(ExitCode::Locked);
    lock = std::move(*taken);
  }
  args1.lock_held = args2.lock_held = true;

  PreparedRun run1;
  run1.record.unattended = args.unattended;
  run1.notify = {{first.notify, std::nullopt}};
  int code = prepare_run(first, args1, global, run1);
  // Before anything runs: the incident's logs are read while the application still runs.
  if (code == 0 || code == to_int(ExitCode::PreflightFailed)) note_incident(first, run1, args1);
  if (code != 0) {
    run1.record.result = static_cast<ExitCode>(code);
    auto why = args.dry_run ? std::string() : fallback_reason(first, run1.record);
    if (why.empty()) {
      if (code == to_int(ExitCode::PreflightFailed)) notify_unstarted(run1);
      return code;
    }
    engine::prepare_steps(first, run1.record);  // shown as not run
    journal_unstarted(run1);
    return run_the_fallback(global, args2, first, run1, second, why);
  }
  RunRequest request{.plan = first, .run = run1, .args = args1, .global = global};
  request.hand_over = [&first](engine::RunRecord& record) { return fallback_reason(first, record); };
  code = run_pipeline(request);
  if (!request.handed_over) return code;
  return run_the_fallback(global, args2, first, run1, second, request.hand_over_reason);
}

}  // namespace rollback::cli
