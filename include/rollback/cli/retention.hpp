// Retention as a run-wide duty of the run pipeline (plan/retention.hpp decides and removes;
// this side knows the state dir's journals and the run's record).
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include <rollback/cli/run_support.hpp>
#include <rollback/engine/journal.hpp>
#include <rollback/plan/plan.hpp>

namespace rollback::cli {

// Target names and paths that runs of this state dir may still need: the target and every
// var value of each journal without an end record (running, or killed) or that ended
// interrupted (exit 130: `resume` continues it). Dry runs need nothing.
std::set<std::string> targets_named_by_runs(const std::filesystem::path& state_dir);

// After a successful run of a `kind: backup` plan whose dir target section has `keep`:
// prunes the targets beyond it, records what happened in run.record.extra["retention"] and
// in the journal (event "targets_pruned"), and returns a line for the console ("" when the
// plan keeps everything). Never fails the run: a target that could not be removed is named
// in the report and in the result message.
std::string prune_after_backup(const plan::Plan& plan, PreparedRun& run, const std::filesystem::path& state_dir,
                               engine::Journal* journal);

}  // namespace rollback::cli
