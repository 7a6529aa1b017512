// Running one read-only action outside a step: a `check` criterion or a `watch` sampler.
// Both commands go through here, so a probe behaves the same wherever a plan uses it.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include <rollback/actions/action.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/proc/runner.hpp>

namespace rollback::engine {

struct ProbeOutcome {
  actions::Outcome outcome;
  std::string observed;  // "status=200 latency=35ms", else the outcome's message (redacted)
};

// The context of an action run outside a step (a probe, a notification at a run's end, the
// incident log's app logs): no vars set, no step log, a deadline `timeout` from now.
actions::ActionContext outside_step_context(proc::Runner& runner, std::string id, Millis timeout);

// Resolves `with` against the scope and runs the action with a deadline. An unknown action
// or a parameter that cannot be resolved is a failed probe whose message says so.
ProbeOutcome run_probe(const actions::Registry& registry, proc::Runner& runner, const plan::ProbeSpec& probe,
                       const plan::Scope& scope, Millis timeout);

}  // namespace rollback::engine
