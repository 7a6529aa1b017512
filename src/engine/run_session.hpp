// Internal to the run service (include/rollback/engine/run.hpp): one run's state as it goes
// through the stages, and the stages themselves, one file each:
//   run_prepare.cpp   identity, vars and secrets, the target (resolved and proved)
//   run_pipeline.cpp  lock, cleanup, preflight, confirmation, execution
//   run_backup.cpp    a backup's target: built hidden, committed, proved; retention
//   run_offsite.cpp   its off-host copy and the remote's retention
//   run_rehearsal.cpp the rehearsal's verdict
//   run_fallback.cpp  the hand-over to a plan's fallback
//   run_end.cpp       notifications, report, final line
//   run.cpp           RunService: run, rehearse, resume
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <rollback/actions/rehearsal.hpp>
#include <rollback/engine/journal.hpp>
#include <rollback/engine/run.hpp>
#include <rollback/plan/interpolate.hpp>

namespace rollback::engine::detail {

// A plan-level `notify:` list and the scope its entries resolve in (the plan that declared
// it: after a fallback, the first plan's list resolves in the first plan's vars).
struct NotifyList {
  std::vector<plan::NotifyCall> calls;
  std::optional<plan::Scope> scope;  // unset: the run's own scope at its end
};

struct PreparedRun {
  plan::Scope scope;
  RunRecord record;
  std::filesystem::path run_dir;  // <state>/runs/<run-id>
  std::optional<plan::Target> target;
  // Sent once at the very end, whatever the outcome: the plan's own list, and after a
  // fallback the first plan's before it.
  std::vector<NotifyList> notify;
};

// What the pipeline is asked to run: a plan whose vars are bound and target resolved.
struct PipelineRequest {
  const plan::Plan& plan;
  PreparedRun& run;
  const RunRequest& args;
  std::set<std::string> completed_steps;  // resume: steps an earlier attempt finished
  bool resuming = false;
  actions::Rehearsal* rehearsal = nullptr;  // `rollback rehearse`
  // A plan with a fallback: asked once the plan has stopped, its result recorded. A
  // non-empty reason hands the run over: the pipeline journals the result but writes no
  // report and sends no notification (the fallback's run does, for both).
  std::function<std::string(RunRecord&)> hand_over;
  bool handed_over = false;
  std::string hand_over_reason;
};

// --- run_prepare.cpp
Result<std::map<std::string, std::string>> collect_overrides(const RunRequest& args);
// Vars (--vars, --var), secrets and ${run.attended}: 0 or the exit code (message printed).
int bind_scope(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args, plan::Scope& scope);
// The run's identity, then bind_and_resolve_target.
int prepare_run(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args, PreparedRun& run);
// Vars and secrets, then the target resolved and proved (engine/target_catalog.hpp).
int bind_and_resolve_target(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args, PreparedRun& run);
// The incident log (check --auto's criteria, or --since) with the application's logs, read
// before anything runs.
void note_incident(const RunDeps& deps, const plan::Plan& plan, PreparedRun& run, const RunRequest& args);
// "nothing was changed", or which destructive steps earlier attempts of this run did run.
std::string what_changed(const RunRecord& record);
std::string destructive_step_ids(const plan::Plan& plan);

// --- run_pipeline.cpp
int run_pipeline(const RunDeps& deps, PipelineRequest& request);

// --- run_backup.cpp
// A backup plan with target.makes: binds the target this run makes (built hidden; a resume
// goes on in the one it began). Removes the partials of superseded backups first.
Status bind_made_target(const RunDeps& deps, PipelineRequest& r);
// Puts the made target in place and proves it; a backup that does not verify failed.
ExitCode commit_made_target(const RunDeps& deps, PipelineRequest& r, Journal* journal, ExitCode code);
// The targets no retention may remove: those of every run that is running or that `resume`
// would continue, and every value this run's vars name.
Result<std::set<std::string>> targets_still_needed(const RunDeps& deps, const PreparedRun& run);
// Retention after a successful backup: a line for the console ("" when the plan keeps all).
std::string prune_after_backup(const RunDeps& deps, const plan::Plan& plan, PreparedRun& run, Journal* journal);

// --- run_offsite.cpp
// A committed backup copied to the plan's `offsite:` remote and checked there; a failed copy
// fails the run (exit 1), the verified local copy staying.
ExitCode push_offsite(const RunDeps& deps, PipelineRequest& r, Journal* journal, ExitCode code);
// The remote's retention (offsite.keep): a line for the console ("" when the plan keeps all).
std::string prune_offsite(const RunDeps& deps, const plan::Plan& plan, PreparedRun& run, Journal* journal);

// --- run_rehearsal.cpp
ExitCode conclude_rehearsal(const RunDeps& deps, PipelineRequest& r, Journal* journal, ExitCode code);

// --- run_fallback.cpp
// Why `plan`, having stopped with `record`'s result, hands over to its fallback ("" when not).
std::string fallback_reason(const RunDeps& deps, const plan::Plan& plan, RunRecord& record);
int run_with_fallback(const RunDeps& deps, const RunRequest& args, const plan::Plan& first, const plan::Plan& second);
// Of the --var/--vars values, those `plan` declares (nullopt: an error was printed).
std::optional<RunRequest> args_for_plan(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args,
                                        const plan::Plan& other);
std::string describe_fallback(const plan::Plan& plan);

// --- run_end.cpp
// When the run stopped before the executor: records the result, journals start and end.
void record_unexecuted(PreparedRun& run, Journal* journal, ExitCode code, const std::string& message,
                       bool resumed = false);
// The end of every run that reached the pipeline: notifications, report, final line.
int conclude_run(const RunDeps& deps, PreparedRun& run, Journal* journal, const RunRequest& args);
int finish_unexecuted(const RunDeps& deps, PreparedRun& run, Journal* journal, ExitCode code,
                      const std::string& message, const RunRequest& args, bool resumed = false);
// A run that stopped before it had a journal (exit 4): the notify lists still tell someone.
void notify_unstarted(const RunDeps& deps, PreparedRun& run);
// Disk held for the report from the run's start until it is written.
std::filesystem::path report_reserve(const std::filesystem::path& run_dir);
std::uint64_t report_reserve_bytes(size_t steps);

}  // namespace rollback::engine::detail
