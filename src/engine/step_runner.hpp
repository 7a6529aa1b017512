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

// Runs (or describes, or skips) `step`, filling `record`. Never throws.
void run_step(const plan::Step& step, StepRecord& record, StepEnv& env);

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
