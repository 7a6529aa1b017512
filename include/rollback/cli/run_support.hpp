// The stages of a run that `run`, `backup`, `resume` and `check --auto` share: preparing
// the scope and target, confirming, and finishing (journal, report, final line).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <rollback/cli/commands.hpp>
#include <rollback/engine/journal.hpp>
#include <rollback/engine/lock.hpp>
#include <rollback/engine/run_record.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/report/console.hpp>
#include <rollback/util/exit_code.hpp>

namespace rollback::cli {

// A plan-level `notify:` list and the scope its entries resolve in (the plan that declared
// it: after a fallback, the first plan's list resolves in the first plan's vars).
struct NotifyList {
  std::vector<plan::NotifyCall> calls;
  std::optional<plan::Scope> scope;  // unset: the run's own scope at its end
};

struct PreparedRun {
  plan::Scope scope;
  engine::RunRecord record;
  std::filesystem::path run_dir;  // <state>/runs/<run-id>
  std::optional<plan::Target> target;
  // Sent once at the very end (conclude_run), whatever the outcome: the plan's own list, and
  // after a fallback the first plan's before it.
  std::vector<NotifyList> notify;
};

// The --vars file's values overlaid with each --var KEY=VALUE.
Result<std::map<std::string, std::string>> collect_overrides(const RunArgs& args);

// Reads --vars/--var overrides and secrets, binds the plan's vars. 0 or the exit code.
// Listing targets needs no secrets unless the target section uses one: need_secrets=false
// lets `targets` work for a person who does not hold the run's credentials.
int bind_scope(const plan::Plan& plan, const RunArgs& args, plan::Scope& scope,
               bool need_secrets = true);

// Builds the run's identity, binds vars (--vars, --var), reads secrets, resolves and
// verifies the target. Returns 0, or the exit code to stop with (message printed).
int prepare_run(const plan::Plan& plan, const RunArgs& args, const GlobalOptions& global,
                PreparedRun& run);

// The second half of prepare_run for a record that already has its identity (resume):
// binds vars and secrets, resolves and verifies the target.
int bind_and_resolve_target(const plan::Plan& plan, const RunArgs& args, PreparedRun& run);

// The picker (no --target, default none, stdin a terminal): the targets table, numbered,
// on stderr; the operator types a number. A target that does not verify is not taken.
// Returns 0 with `picked` set, or the exit code (2: nothing picked; 4: no targets).
int pick_on_terminal(const plan::Plan& plan, const plan::Scope& scope,
                     const std::map<std::string, std::string>& overrides, std::optional<plan::Target>& picked);

// Asks on the terminal; true when the operator typed "yes" or the target's name.
bool confirm_on_terminal(const plan::Plan& plan, const PreparedRun& run);

// After the executor ran: writes the report (not for a dry run without --report), prints
// the summary and, last, the report path. Returns the process exit code.
int finish_run(PreparedRun& run, engine::Journal* journal, ExitCode code, const RunArgs& args,
               const GlobalOptions& global, report::ConsoleProgress& console);

// When the run stopped before the executor (preflight failed, not confirmed): records the
// result and journals run_started/run_finished. finish_unexecuted then concludes.
void record_unexecuted(PreparedRun& run, engine::Journal* journal, ExitCode code, const std::string& message,
                       bool resumed = false);

// The end of every run that reached the pipeline: the plan-level notify lists, the report
// (not for a dry run without --report), the summary and, last, the report path.
int conclude_run(PreparedRun& run, engine::Journal* journal, const RunArgs& args, const GlobalOptions& global,
                 report::ConsoleProgress& console);

// A run that stopped before it had a journal (its target did not resolve or verify, exit
// 4): the notify lists still tell someone. The record's result and message say why.
void notify_unstarted(PreparedRun& run);

// record_unexecuted, then conclude_run: the report is written all the same.
int finish_unexecuted(PreparedRun& run, engine::Journal* journal, ExitCode code,
                      const std::string& message, const RunArgs& args,
                      const GlobalOptions& global, report::ConsoleProgress& console, bool resumed = false);

// Where a run keeps disk reserved for its report until it writes it, and how much.
std::filesystem::path report_reserve(const std::filesystem::path& run_dir);
std::uint64_t report_reserve_bytes(size_t steps);

// The state dir's flock; on contention prints the holder and returns nullopt (exit 3). A
// rehearsal takes it `preemptible`; a real run that finds a rehearsal holding it asks that
// rehearsal to stop (SIGTERM, after writing <its run dir>/preempted) and waits for it to
// clean up and let go, instead of exiting 3.
std::optional<engine::RunLock> take_run_lock(const GlobalOptions& global,
                                            const engine::RunRecord& record, bool preemptible = false);

// How long a real run waits for a preempted rehearsal to remove its copies and let go.
inline constexpr std::chrono::seconds kPreemptPatience{120};

report::ConsoleOptions console_options(const GlobalOptions& global);

// "20250127-180000-full-3f2a": sortable, names the plan, unique enough per state dir.
std::string new_run_id(const std::string& plan_name, engine::SystemTime started);
std::string destructive_step_ids(const plan::Plan& plan);
// "nothing was changed", or for a resumed run whose earlier attempts did change things,
// which steps those were: never claim that nothing changed when something did.
std::string what_changed(const engine::RunRecord& record);

}  // namespace rollback::cli
