#include <rollback/engine/executor.hpp>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>

#include "step_runner.hpp"

namespace rollback::engine {
namespace {

StepRecord planned_record(const plan::Step& step) {
  StepRecord r;
  r.id = step.id;
  r.name = step.name.empty() ? step.id : step.name;
  r.action = step.action;
  r.phase = step.phase;
  r.destructive = step.destructive;
  r.group = step.group;
  r.group_name = step.group_name;
  return r;
}

}  // namespace

void prepare_steps(const plan::Plan& plan, RunRecord& record) {
  std::vector<StepRecord> steps;
  for (const auto& step : plan.steps) {
    StepRecord fresh = planned_record(step);
    for (const auto& old : record.steps)
      if (old.id == step.id) {
        fresh.status = old.status;
        fresh.message = old.message;
        fresh.attempts = old.attempts;
        fresh.started = old.started;
        fresh.ended = old.ended;
        fresh.duration = old.duration;
        fresh.failure_ignored = old.failure_ignored;
        fresh.warning = old.warning;
        fresh.observations = old.observations;
        fresh.log_excerpt = old.log_excerpt;
        fresh.data = old.data;
        fresh.notes = old.notes;
      }
    steps.push_back(std::move(fresh));
  }
  record.steps = std::move(steps);
}

namespace {

using detail::failed_hard;

ExitCode exit_code_for(const RunRecord& record, bool interrupted) {
  if (interrupted) return ExitCode::Interrupted;
  bool non_verify_failed = false, verify_failed = false;
  for (const auto& s : record.steps) {
    bool is_verify = s.phase == plan::Phase::Verify;
    // A failed verification counts even with on_failure: continue (that only means "check
    // the rest too"): the rollback ran but the system is not verified healthy.
    if (is_verify && (failed_hard(s) || s.failure_ignored)) verify_failed = true;
    if (!is_verify && failed_hard(s)) non_verify_failed = true;
  }
  if (non_verify_failed) return ExitCode::StepFailed;
  return verify_failed ? ExitCode::VerifyFailed : ExitCode::Success;
}

// The one rule for which step decided the result (RunRecord::failing_step).
const StepRecord* deciding_step(const RunRecord& record, ExitCode code) {
  for (const auto& s : record.steps)
    if (failed_hard(s) || s.status == StepStatus::Interrupted) return &s;
  if (code == ExitCode::VerifyFailed)
    for (const auto& s : record.steps)
      if (s.phase == plan::Phase::Verify && s.failure_ignored) return &s;
  return nullptr;
}

std::string result_message(const RunRecord& record, ExitCode code, bool dry_run) {
  const StepRecord* culprit = deciding_step(record, code);
  size_t not_run = 0;
  for (const auto& s : record.steps)
    if (s.status == StepStatus::Pending) ++not_run;
  std::string after = not_run == 0 ? std::string()
                                   : fmt::format("; {} later step{} did not run", not_run,
                                                 not_run == 1 ? "" : "s");
  // A failed member's siblings ran to their end (a restore is never cut off halfway).
  if (culprit && !culprit->group.empty() && code == ExitCode::StepFailed)
    after = fmt::format(" (in parallel group {}, whose other steps ran to their end){}", culprit->group, after);
  switch (code) {
    case ExitCode::Success: {
      size_t ignored = 0;
      for (const auto& s : record.steps) ignored += s.failure_ignored ? 1 : 0;
      std::string base = dry_run ? "dry run complete: nothing was changed"
                                 : "rollback completed: every step succeeded";
      if (ignored > 0)
        base = fmt::format("{} ({} failure{} ignored by on_failure: continue)",
                           dry_run ? "dry run complete: nothing was changed" : "rollback completed",
                           ignored, ignored == 1 ? "" : "s");
      return base;
    }
    case ExitCode::VerifyFailed:
      if (dry_run)  // nothing ran: only read-only checks did, and one of them failed
        return fmt::format("dry run: the check at step {} ({}) failed: {}{}; nothing was changed", culprit->id,
                           culprit->name, culprit->message, after);
      return fmt::format("{} but verification failed at step {} ({}): {}{}",
                         record.rehearsal ? "the throwaway copies were restored" : "the rollback ran", culprit->id,
                         culprit->name, culprit->message, after);
    case ExitCode::Interrupted:
      return culprit ? fmt::format("interrupted during step {} ({}){}", culprit->id,
                                   culprit->name, after)
                     : fmt::format("interrupted before a step started{}", after);
    default:
      return fmt::format("{}step {} ({}) failed: {}{}{}", dry_run ? "dry run: " : "", culprit->id, culprit->name,
                         culprit->message, after, dry_run ? "; nothing was changed" : "");
  }
}

// Whether the step names a var for its action to set (`into: dump_file`); `params` null:
// whether the action can set one at all.
bool sets_a_var(const actions::Action& action, const actions::Params* params) {
  for (const auto& spec : action.params)
    if (spec.sets_var && (!params || params->has(spec.name))) return true;
  return false;
}

}  // namespace

std::vector<std::string> Executor::preflight(const plan::Plan& plan, plan::Scope& scope,
                                             const std::set<std::string>& done) {
  std::vector<std::string> failures;
  // Vars that read-only steps set (fs.latest's dump file) land here, for checking only: the
  // real run sets them again when those steps run.
  plan::Scope scratch = scope;
  bool changes_before = false;  // a step that changes something comes earlier in the plan
  for (const auto& step : plan.steps) {
    if (proc::cancel_requested())
      break;  // the run is stopping: the caller says so, not a check cut short
    if (done.contains(step.id)) continue;
    const actions::Action* action = registry_.find(step.action);
    std::string label = fmt::format("step {} ({})", step.id, step.name.empty() ? step.id : step.name);
    if (!action) {
      failures.push_back(fmt::format("{}: unknown action \"{}\"", label, step.action));
      continue;
    }
    // A read-only step that names what later steps use runs now, so that those steps (the
    // restore of the dump it found) are checked before anything changes. Not once a step
    // that changes things comes before it: it may look for what that step makes.
    bool may_find = !changes_before && action->reads_only(step.with) && action->run && sets_a_var(*action, nullptr);
    changes_before = changes_before || !action->reads_only(step.with);
    // Params naming vars that no step before has set are checked just before the step runs.
    if (!detail::references_defined(step.with, scratch)) continue;
    if (auto when = detail::evaluate_when(step.when, scratch); when && !*when) continue;
    // Every step's parameters resolve now, preflight or not: an empty project or a
    // malformed URL stops the run here, before anything changes.
    auto params = plan::resolve_params(step.with, scratch, action->params);
    if (!params) {
      failures.push_back(redact(fmt::format("{}: {}", label, params.error().message)));
      continue;
    }
    if (rehearsal_) {  // checked as it will run: against the copies, or not at all
      actions::ActionContext ctx{.step_id = step.id, .runner = runner_, .set_var = {}, .log = [](std::string_view) {}};
      auto rehearsed = actions::rehearse_step(*rehearsal_, step, *action, ctx, *params);
      if (!rehearsed) failures.push_back(redact(fmt::format("{}: {}", label, rehearsed.error().message)));
      if (!rehearsed || rehearsed->kind == actions::Rehearsed::Kind::Skip) continue;
      params = std::move(rehearsed->params);
    }
    bool finds_a_source = may_find && sets_a_var(*action, &*params);
    if (!action->preflight && !finds_a_source) continue;
    auto outcome = check_step(step, *action, *params, finds_a_source, scratch);
    if (finds_a_source && !outcome.ok && step.on_failure == plan::OnFailure::Continue) continue;
    if (!outcome.ok) failures.push_back(redact(fmt::format("{}: {}", label, outcome.message)));
    else if (!finds_a_source) preflighted_[step.id] = params->all();
  }
  return failures;
}

actions::Outcome Executor::check_step(const plan::Step& step, const actions::Action& action,
                                      const actions::Params& params, bool run_for_real, plan::Scope& scratch) {
  actions::ActionContext ctx{.step_id = step.id, .runner = runner_, .set_var = {}, .log = {}};
  ctx.dry_run = !run_for_real;
  ctx.set_var = [&scratch](const std::string& name, const std::string& value) { scratch.set_var(name, value); };
  ctx.log = [](std::string_view) {};
  // A step's timeout bounds its work, not the proof that it can work: reading a large
  // archive through may take longer than extracting it is allowed to, on a loaded host.
  // A step run for real (a probe that finds what later steps use) is the step's work: its
  // own timeout bounds it, as it will in the run.
  constexpr Millis kCheckTime{10 * 60 * 1000};
  ctx.timeout = run_for_real ? step.timeout.value_or(kCheckTime)
                             : std::max(step.timeout.value_or(kCheckTime), kCheckTime);
  ctx.deadline = std::chrono::steady_clock::now() + ctx.timeout;
  try {
    return run_for_real ? action.run(ctx, params) : action.preflight(ctx, params);
  } catch (const std::exception& e) {
    return actions::Outcome::failure(fmt::format("internal error: {}", e.what()));
  }
}

ExitCode Executor::execute(const plan::Plan& plan, plan::Scope& scope, RunRecord& record,
                           Journal* journal, const ExecuteOptions& options) {
  prepare_steps(plan, record);
  // The caller fills who/why/target; what the plan itself says is taken from it here.
  if (record.plan_name.empty()) record.plan_name = plan.name;
  if (record.plan_path.empty()) record.plan_path = plan.path.string();
  if (record.plan_sha256.empty()) record.plan_sha256 = plan.sha256;
  record.kind = plan.kind;
  bool plan_has_report = !plan.report.title.empty() || !plan.report.contacts.empty() ||
                         !plan.report.checklist.empty() || !plan.report.follow_up.empty() ||
                         plan.report.lang != "en";
  if (plan_has_report) record.report = plan.report;
  if (record.title.empty()) record.title = plan.report.title;
  record.dry_run = options.dry_run;
  if (!record.budget) record.budget = plan.budget;
  for (const auto& [k, v] : scope.vars()) record.vars[k] = redact(v);
  if (journal) {
    auto started = run_started_event(record);
    if (options.resumed) {
      started["resumed"] = true;
      started["plan_sha256"] = plan.sha256;
      RunRecord::Resumption r{record.last_event.value_or(record.started), std::chrono::system_clock::now(), ""};
      if (plan.sha256 != record.plan_sha256) r.plan_sha256 = plan.sha256;
      record.resumptions.push_back(std::move(r));
    }
    (void)journal->append(std::move(started));
  }

  detail::StepEnv env{registry_, runner_, scope, journal, options, &preflighted_};
  const size_t total = plan.steps.size();
  bool interrupted = false;
  for (size_t first = 0, end = 0; first < total; first = end) {
    end = plan.block_end(first);
    if (!plan.steps[first].group.empty()) {
      auto group = detail::run_group(plan, first, end, record, env);
      if (group.interrupted) {
        interrupted = true;
        break;
      }
      if (group.failed_hard) break;
      continue;
    }
    const plan::Step& step = plan.steps[first];
    StepRecord& rec = record.steps[first];
    if (options.completed_steps.contains(step.id)) {
      detail::mark_done_earlier(rec);
      continue;
    }
    if (proc::cancel_requested()) {
      interrupted = true;
      break;
    }
    rec.status = StepStatus::Running;
    if (options.on_step_start) options.on_step_start(rec, first + 1, total);
    detail::run_step(step, rec, env);
    if (options.on_step_end) options.on_step_end(rec, first + 1, total);
    if (rec.status == StepStatus::Interrupted || proc::cancel_requested()) {
      if (rec.status != StepStatus::Interrupted) rec.status = StepStatus::Interrupted;
      interrupted = true;
      break;
    }
    if (failed_hard(rec)) break;
  }

  for (const auto& [k, v] : scope.vars()) record.vars[k] = redact(v);
  if (record.from_version.empty())
    if (auto v = scope.lookup("from_version")) record.from_version = redact(*v);
  if (record.to_version.empty()) {
    if (auto v = scope.lookup("to_version")) record.to_version = redact(*v);
    else record.to_version = record.target_name;
  }
  record.ended = std::chrono::system_clock::now();
  record.result = exit_code_for(record, interrupted);
  const StepRecord* decided = deciding_step(record, record.result);
  record.failing_step = decided ? decided->id : "";
  record.result_message = redact(result_message(record, record.result, options.dry_run));
  if (journal) (void)journal->append(run_finished_event(record));
  return record.result;
}

}  // namespace rollback::engine
