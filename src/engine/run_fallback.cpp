// A plan's `fallback:` (shared/spec.md): when the plan stops before changing anything
// (`preflight`, exit 4) or fails where the failure left things as they were (`failed`, exit
// 1), the fallback plan runs in the same run: one lock, one run id and folder, one journal,
// one report, the fallback's exit code.
#include "run_session.hpp"

#include <fmt/format.h>

#include <rollback/plan/fallback.hpp>
#include <rollback/plan/vars.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine::detail {
namespace {

const plan::Step* step_of(const plan::Plan& plan, const std::string& id) {
  for (const auto& step : plan.steps)
    if (step.id == id) return &step;
  return nullptr;
}

// Why a failed run cannot hand over after all ("" when it can): the load-time rule made
// sure of the plan, this checks what really happened (a resumed run, an action that said
// its failure did leave something behind). The failing step is the executor's.
std::string failed_problem(const actions::Registry& registry, const plan::Plan& plan, const RunRecord& record) {
  const StepRecord* failing = failing_step_of(record);
  if (!failing) return "no step failed";
  const auto* step = step_of(plan, failing->id);
  if (!step || !plan::step_failure_changes_nothing(registry, *step))
    return fmt::format("step '{}' ({}) failed, and its action does not declare that a failure leaves things as "
                       "they were",
                       failing->id, failing->action);
  if (auto left = failing->data.find("failure_left_changes"); left != failing->data.end())
    return fmt::format("step '{}' failed but left something in progress: {}", failing->id, left->dump());
  for (const auto& s : record.steps) {
    bool touched = s.status != StepStatus::Pending && s.status != StepStatus::Skipped && s.status != StepStatus::Described;
    const auto* other = step_of(plan, s.id);
    if (&s != failing && touched && !(other && plan::step_reads_only(registry, *other)))
      return fmt::format("step '{}' ({}) had run ({}) and changes things", s.id, s.action, to_string(s.status));
  }
  return "";
}

// The first plan stopped before it had a journal (its target did not resolve or verify):
// its record goes into the run's journal all the same, so the report and `history` show it.
void journal_unstarted(PreparedRun& run) {
  if (auto made = make_private_dirs(run.run_dir); !made) return;
  Journal journal(run.run_dir / "journal.jsonl");
  record_unexecuted(run, &journal, ExitCode::PreflightFailed, run.record.result_message);
}

int run_the_fallback(const RunDeps& deps, const RunRequest& args, const plan::Plan& first, PreparedRun& run1,
                     const plan::Plan& second, const std::string& why) {
  const auto& spec = first.fallback;
  deps.observer.note(fmt::format("\nplan {} hands over to its fallback, plan {}: {}\n", first.name, second.name, why));
  nlohmann::json event = {{"event", "fallback"}, {"from", first.name}, {"to", second.name}, {"why", redact(why)}};
  if (!spec.note.empty()) event["note"] = spec.note;
  Journal journal(run1.run_dir / "journal.jsonl");
  (void)journal.append(event);
  deps.observer.event(event);

  PreparedRun run2;
  if (run1.record.steps.empty()) prepare_steps(first, run1.record);  // shown as not run
  run1.record.handed_over = redact(why);
  run2.record.fell_back_from.push_back(run1.record);
  run2.record.fallback_note = spec.note;
  // One incident: read once, before the first plan ran.
  if (auto it = run1.record.extra.find("incident"); it != run1.record.extra.end()) run2.record.extra["incident"] = *it;
  run2.record.unattended = args.unattended;
  run2.notify = {{first.notify, run1.scope}, {second.notify, std::nullopt}};
  int code = prepare_run(deps, second, args, run2);
  if (code != 0) {
    auto message = run2.record.result_message.empty()
                       ? fmt::format("the fallback plan {} could not start (exit {}; the error is printed above)",
                                     second.name, code)
                       : run2.record.result_message;
    return finish_unexecuted(deps, run2, &journal, static_cast<ExitCode>(code), message, args);
  }
  PipelineRequest request{.plan = second, .run = run2, .args = args};
  return run_pipeline(deps, request);
}

}  // namespace

std::string fallback_reason(const RunDeps& deps, const plan::Plan& plan, RunRecord& record) {
  const auto& spec = plan.fallback;
  if (spec.plan.empty()) return "";
  if (record.result == ExitCode::PreflightFailed && spec.on_preflight)
    return fmt::format("plan {} stopped before changing anything (exit 4; fallback.when: preflight): {}", plan.name,
                       record.result_message);
  if (record.result != ExitCode::StepFailed || !spec.on_failed) return "";
  if (auto problem = failed_problem(deps.registry, plan, record); !problem.empty()) {
    record.result_message += fmt::format("; no fallback to plan {}: {}", spec.plan, problem);
    return "";
  }
  return fmt::format("plan {} failed where a failure leaves things as they were (exit 1; fallback.when: failed): {}",
                     plan.name, record.result_message);
}

std::optional<RunRequest> args_for_plan(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args,
                                        const plan::Plan& other) {
  auto taken = request_for_plan(plan, args, other);
  if (!taken) {
    deps.observer.error(taken.error().message + ". Nothing ran.");
    return std::nullopt;
  }
  return std::move(*taken);
}

std::string describe_fallback(const plan::Plan& plan) {
  const auto& spec = plan.fallback;
  std::vector<std::string> cases;
  if (spec.on_preflight) cases.push_back("stops before changing anything (exit 4)");
  if (spec.on_failed)
    cases.push_back("fails at a step whose failure leaves things as they were, with only read-only steps done (exit 1)");
  std::string when;
  for (size_t i = 0; i < cases.size(); ++i) when += (i ? " or " : "") + cases[i];
  return fmt::format("fallback: plan {} would run if this run {} (target: {}){}", spec.plan, when,
                     spec.target.empty() ? "its own default" : spec.target,
                     spec.note.empty() ? "" : "; note: " + spec.note);
}

int run_with_fallback(const RunDeps& deps, const RunRequest& args, const plan::Plan& first, const plan::Plan& second) {
  auto for_first = args_for_plan(deps, first, args, second);
  auto for_second = for_first ? args_for_plan(deps, second, args, first) : std::nullopt;
  if (!for_first || !for_second) return to_int(ExitCode::Usage);
  RunRequest args1 = *for_first, args2 = *for_second;
  args1.run_id = args2.run_id =
      args.run_id.empty() ? new_run_id(first.name, std::chrono::system_clock::now()) : args.run_id;
  args2.target = first.fallback.target;

  // One lock over both plans: nothing else may start between the hand-over and the fallback.
  RunLock lock;
  if (!args.dry_run && !args.lock_held) {
    LockHolder me{.run_id = args1.run_id,
                  .operator_name = args.operator_name.empty() ? deps.login_name : args.operator_name,
                  .plan = first.name};
    auto taken = take_run_lock(deps, me);
    if (!taken) return to_int(ExitCode::Locked);
    lock = std::move(*taken);
  }
  args1.lock_held = args2.lock_held = true;

  PreparedRun run1;
  run1.record.unattended = args.unattended;
  run1.notify = {{first.notify, std::nullopt}};
  int code = prepare_run(deps, first, args1, run1);
  // Before anything runs: the incident's logs are read while the application still runs.
  if (code == 0 || code == to_int(ExitCode::PreflightFailed)) note_incident(deps, first, run1, args1);
  if (code != 0) {
    run1.record.result = static_cast<ExitCode>(code);
    auto why = args.dry_run ? std::string() : fallback_reason(deps, first, run1.record);
    if (why.empty()) {
      if (code == to_int(ExitCode::PreflightFailed)) notify_unstarted(deps, run1);
      return code;
    }
    prepare_steps(first, run1.record);  // shown as not run
    journal_unstarted(run1);
    return run_the_fallback(deps, args2, first, run1, second, why);
  }
  PipelineRequest request{.plan = first, .run = run1, .args = args1};
  request.hand_over = [&](RunRecord& record) { return fallback_reason(deps, first, record); };
  code = run_pipeline(deps, request);
  if (!request.handed_over) return code;
  return run_the_fallback(deps, args2, first, run1, second, request.hand_over_reason);
}

}  // namespace rollback::engine::detail

namespace rollback::engine {

Result<RunRequest> request_for_plan(const plan::Plan& plan, const RunRequest& request, const plan::Plan& other) {
  auto given = detail::collect_overrides(request);
  if (!given) return std::unexpected(given.error());
  auto taken = plan::overrides_for(plan, *given, &other);
  if (!taken) return std::unexpected(taken.error());
  RunRequest out = request;
  out.vars.clear();
  out.vars_file.clear();
  for (const auto& [k, v] : *taken) out.vars.push_back(k + "=" + v);
  return out;
}

}  // namespace rollback::engine
