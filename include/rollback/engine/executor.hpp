// Runs a plan's steps in order with timeouts, retries, on_failure and when, and the
// members of each `parallel:` group together; writes the journal as it goes; fills a
// RunRecord for the report. Knows actions only through actions::Action.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <rollback/actions/action.hpp>
#include <rollback/actions/rehearsal.hpp>
#include <rollback/engine/journal.hpp>
#include <rollback/engine/run_record.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/proc/runner.hpp>

namespace rollback::engine {

struct ExecuteOptions {
  bool dry_run = false;
  // Steps already done in an earlier run (resume): not run again.
  std::set<std::string> completed_steps;
  // Console progress: called when a step starts and when it ends (`index` counts from 1 in
  // Plan::steps). The members of a `parallel:` group call them from their own threads, at
  // the same time: these callbacks must be thread-safe.
  std::function<void(const StepRecord&, size_t index, size_t total)> on_step_start;
  std::function<void(const StepRecord&, size_t index, size_t total)> on_step_end;
  std::function<void(const std::string& step_id, std::string_view line)> on_log;
  // A parallel group is about to start `members` (those not done in an earlier run), before
  // any member's on_step_start; the group spans steps first_index .. first_index + size - 1.
  std::function<void(const std::vector<const StepRecord*>& members, size_t first_index, size_t size,
                     size_t total)>
      on_group_start;
  bool resumed = false;  // a resume: the journal gets run_started again, marked so
  // Whose work the steps are (ActionContext::run_id, state_dir): helpers are labelled so.
  std::string run_id;
  std::string state_dir;
  // `rollback rehearse`: each step runs as actions::rehearse_step says (against throwaway
  // copies, or skipped with a note). Null for a real run.
  actions::Rehearsal* rehearsal = nullptr;
};

// The record's steps as the plan lists them: what an earlier attempt (resume) recorded for
// a step is kept, every other step starts as pending (not run).
void prepare_steps(const plan::Plan& plan, RunRecord& record);

class Executor {
 public:
  Executor(const actions::Registry& registry, proc::Runner& runner)
      : registry_(registry), runner_(runner) {}

  // Preflight: every step's action preflight (read-only) with the params resolvable now,
  // except steps in `done` (finished by an earlier attempt of a resumed run). Returns the
  // failures, one per step ("step restore-db: dump /x is empty").
  std::vector<std::string> preflight(const plan::Plan& plan, plan::Scope& scope,
                                     const std::set<std::string>& done = {});

  // A rehearsal: preflight checks each step as it will be rehearsed (and a step that cannot
  // be, because the target's stack would share something with production, fails it).
  void set_rehearsal(actions::Rehearsal* rehearsal) { rehearsal_ = rehearsal; }

  // Runs the steps. `record` must hold the run's identity (run id, operator, reason, target,
  // started); plan name/path/kind/report spec are taken from `plan`, steps and result are
  // filled in. With a journal, writes run_started first and run_finished last (a resumed run
  // writes run_started again with "resumed": true). Steps after a failed (abort) or
  // interrupted one stay Pending; a group whose member failed lets its other members run to
  // their end, then the run stops there too (unless that member had on_failure: continue). A step's timeout bounds each attempt: actions pass
  // ctx.remaining() to their child processes, and an attempt that overruns is a failure
  // "timed out after X" (an action that ignores its deadline cannot be preempted).
  // Returns the exit code per spec (Success, StepFailed, VerifyFailed, Interrupted): a
  // failure ignored by on_failure: continue does not count, in any phase.
  ExitCode execute(const plan::Plan& plan, plan::Scope& scope, RunRecord& record,
                   Journal* journal, const ExecuteOptions& options);

 private:
  // One step's preflight (or, for a read-only step that finds a restore source, its run
  // into the scratch scope).
  actions::Outcome check_step(const plan::Step& step, const actions::Action& action, const actions::Params& params,
                              bool run_for_real, plan::Scope& scratch);

  const actions::Registry& registry_;
  proc::Runner& runner_;
  // Steps whose preflight passed in preflight(), with the params it saw: a destructive step
  // is checked again just before it runs only when its params changed since (a var set by
  // an earlier step) or it was not checked at all. The action's run re-checks what can go
  // stale itself (an archive that changed on disk).
  std::map<std::string, nlohmann::json> preflighted_;
  actions::Rehearsal* rehearsal_ = nullptr;
};

}  // namespace rollback::engine
