// One step of a run: `when`, params, the destructive preflight, attempts with retry and
// timeouts, cancellation. Private to the engine (executor.cpp drives it).
#pragma once

#include <rollback/engine/executor.hpp>

namespace rollback::engine::detail {

struct StepEnv {
  const actions::Registry& registry;
  proc::Runner& runner;
  plan::Scope& scope;
  Journal* journal;
  const ExecuteOptions& options;
  const std::map<std::string, nlohmann::json>* preflighted = nullptr;  // id -> params checked
};

// Runs (or describes, or skips) `step`, filling `record`. Never throws. Safe to call from
// several threads at once for different steps (a parallel group's members): what they
// share (scope, journal, the progress callbacks) is thread-safe.
void run_step(const plan::Step& step, StepRecord& record, StepEnv& env);

// A failure that stops the run: failed, and not ignored by on_failure: continue.
inline bool failed_hard(const StepRecord& s) { return s.status == StepStatus::Failed && !s.failure_ignored; }

// A step done in an earlier attempt of this run (resume): shown as done, not run again.
void mark_done_earlier(StepRecord& record);

struct BlockResult {
  bool interrupted = false;  // Ctrl-C (or SIGTERM) reached the block: the run stops, exit 130
  bool failed_hard = false;  // a failure that stops the run (see failed_hard())
};

// Runs steps [first, end) of `plan`, one `parallel:` group, filling their records: every
// member not done in an earlier run starts at once on its own thread (in plan order, one at
// a time, in a dry run). The group ends when all members have ended: a member's failure
// does not stop its siblings, because a restore cut off halfway leaves a half-written
// volume; only the run's cancellation interrupts them. (group_runner.cpp)
BlockResult run_group(const plan::Plan& plan, size_t first, size_t end, RunRecord& record, StepEnv& env);

struct AttemptResult {
  actions::Outcome outcome;
  bool interrupted = false;
};

// Runs the action's attempts as the step's retry policy says, within one deadline: the
// step's timeout and the retry's `until`, whichever ends first.
AttemptResult attempt(const plan::Step& step, const actions::Action& action, const actions::Params& params,
                      actions::ActionContext& ctx, StepRecord& record);

// Evaluates a step's `when`: nullopt + message when it cannot be evaluated.
Result<bool> evaluate_when(const std::string& when, const plan::Scope& scope);

// Every `${...}` reference in a `with:` tree is defined in `scope`.
bool references_defined(const YAML::Node& node, const plan::Scope& scope);

// Sleeps up to `d`, waking early when the run is cancelled. Returns false when cancelled.
bool interruptible_sleep(Millis d);

}  // namespace rollback::engine::detail
