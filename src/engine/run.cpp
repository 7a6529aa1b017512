// The run service's three entries (include/rollback/engine/run.hpp): a run (with its
// fallback), a rehearsal and a resume. The stages are in src/engine/run_*.cpp.
#include "run_session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <rollback/engine/state_store.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine {

using namespace detail;

int RunService::run(const plan::Plan& plan, const RunRequest& request, const plan::Plan* fallback) {
  RunRequest own = request;  // a dry run of a plan with a fallback: the vars it declares
  if (fallback) {
    if (!request.dry_run) return run_with_fallback(deps_, request, plan, *fallback);
    auto taken = args_for_plan(deps_, plan, request, *fallback);
    if (!taken) return to_int(ExitCode::Usage);
    own = *taken;
    deps_.observer.note(describe_fallback(plan));
  }
  PreparedRun run;
  run.notify = {{plan.notify, std::nullopt}};
  int prepared = prepare_run(deps_, plan, own, run);
  if (prepared == 0 || prepared == to_int(ExitCode::PreflightFailed)) note_incident(deps_, plan, run, own);
  if (prepared != 0) {
    if (prepared == to_int(ExitCode::PreflightFailed)) notify_unstarted(deps_, run);
    return prepared;
  }
  PipelineRequest pipeline{.plan = plan, .run = run, .args = own};
  return run_pipeline(deps_, pipeline);
}

int RunService::rehearse(const plan::Plan& plan, const RunRequest& request) {
  if (plan.target.from.empty()) {
    deps_.observer.error(fmt::format(
        "plan '{}' takes no target, so there is nothing to rehearse restoring. Nothing ran.", plan.name));
    return to_int(ExitCode::PreflightFailed);
  }
  RunRequest args = request;
  args.yes = true;  // production is not touched: nothing to confirm
  PreparedRun run;
  if (int code = prepare_run(deps_, plan, args, run); code != 0) return code;
  run.record.rehearsal = true;
  if (args.reason.empty()) run.record.reason = "rollback rehearse: prove the target restorable";
  actions::Rehearsal rehearsal(run.record.run_id, deps_.state_dir.string(), deps_.registry);
  PipelineRequest pipeline{.plan = plan, .run = run, .args = args, .rehearsal = &rehearsal};
  return run_pipeline(deps_, pipeline);
}

namespace {

int refuse(const RunDeps& deps, const std::string& message) {
  deps.observer.error(message);
  return to_int(ExitCode::Usage);
}

Result<StoredRun> run_to_resume(const StateStore& store, const std::string& run_id) {
  if (!run_id.empty()) {
    auto one = store.run(run_id);
    if (!one) return fail(fmt::format("run {}: {} (see `rollback history`)", run_id, one.error().message));
    return one;
  }
  auto found = store.latest_resumable();
  if (!found) return std::unexpected(found.error());
  if (!*found) return fail(fmt::format("no interrupted or failed run to resume in {}", store.runs_dir().string()));
  return std::move(**found);
}

std::string not_resumable(const StoredRun& stored) {
  const auto& r = stored.record;
  if (stored.state == RunState::Running)
    return fmt::format("run {} is still running (it holds the lock); there is nothing to resume", r.run_id);
  if (stored.superseded)
    return fmt::format("backup run {} was superseded by a later run of plan {}; run the backup again instead of "
                       "resuming it",
                       r.run_id, r.plan_name);
  return fmt::format("run {} ended with exit {} ({}); there is nothing to resume", r.run_id, to_int(r.result),
                     r.result_message);
}

// Steps an earlier attempt finished, and the ones that were in flight or failed and are not
// safe to run again without --yes.
void split_steps(const RunDeps& deps, const plan::Plan& plan, const RunRecord& previous, PipelineRequest& request,
                 std::vector<std::string>& rerun) {
  for (const auto& step : plan.steps) {
    auto it = std::find_if(previous.steps.begin(), previous.steps.end(), [&](const auto& s) { return s.id == step.id; });
    if (it == previous.steps.end()) continue;
    if (it->status == StepStatus::Ok || it->status == StepStatus::Skipped) {
      request.completed_steps.insert(step.id);
      continue;
    }
    if (it->status == StepStatus::Pending) continue;
    const auto* action = deps.registry.find(step.action);
    if (action && !action->rerun_safe && !action->reads_only(step.with))
      rerun.push_back(step.id + " (" + step.action + ")");
  }
}

}  // namespace

int RunService::resume(const ResumeRequest& a) {
  StateStore store(deps_.state_dir);
  auto stored = run_to_resume(store, a.run_id);
  if (!stored) return refuse(deps_, stored.error().message);
  if (!StateStore::resumable(*stored)) return refuse(deps_, not_resumable(*stored));
  const RunRecord& previous = stored->record;
  const std::string& id = previous.run_id;
  auto loaded = deps_.load_plan(previous.plan_path);
  if (!loaded) return to_int(ExitCode::Usage);
  const plan::Plan& plan = *loaded;
  // A plan edited since the run started would run steps the interrupted run never planned.
  if (!previous.plan_sha256.empty() && previous.plan_sha256 != plan.sha256 && !a.allow_changed_plan)
    return refuse(deps_, fmt::format("the plan file {} changed since run {} started (sha256 {} then, {} now); resuming "
                                     "would run steps the interrupted run never planned. Compare it with what the run "
                                     "did (`rollback history`, its journal), then `rollback resume {} "
                                     "--allow-changed-plan`. Nothing ran.",
                                     plan.path.string(), id, previous.plan_sha256.substr(0, 12),
                                     plan.sha256.substr(0, 12), id));
  RunRequest args;
  args.plan = previous.plan_path;
  // A backup's target is the one it makes (bound again by the pipeline), never a --target.
  if (plan.kind != plan::Kind::Backup) args.target = previous.target_name;
  args.yes = a.yes;
  args.unattended = previous.unattended;
  if (auto it = previous.extra.find("overrides"); it != previous.extra.end() && it->is_object())
    for (const auto& [k, v] : it->items()) args.vars.push_back(k + "=" + v.get<std::string>());

  PreparedRun run;
  run.record = previous;
  run.record.ended.reset();
  run.run_dir = stored->dir;
  if (int code = bind_and_resolve_target(deps_, plan, args, run); code != 0) return code;
  // Values earlier steps set with `into:`. One that held a secret was redacted in the
  // journal: it stays unset, so a step that uses it fails naming the variable.
  for (const auto& [k, v] : previous.vars) {
    if (run.scope.lookup(k)) continue;
    if (v.find(kRedacted) != std::string::npos)
      deps_.observer.warn(fmt::format("warning: ${{{}}} held a secret and is not restored from the journal", k));
    else
      run.scope.set_var(k, v);
  }
  PipelineRequest request{.plan = plan, .run = run, .args = args, .resuming = true};
  std::vector<std::string> rerun;
  split_steps(deps_, plan, previous, request, rerun);
  if (!rerun.empty() && !a.yes) {
    std::string list;
    for (const auto& r : rerun) list += (list.empty() ? "" : ", ") + r;
    return refuse(deps_, fmt::format("step {} was in flight or failed and is not safe to run again automatically; check "
                                     "what it left, then `rollback resume {} --yes`. Nothing ran.",
                                     list, id));
  }
  return run_pipeline(deps_, request);
}

}  // namespace rollback::engine
