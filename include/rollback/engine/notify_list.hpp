// The plan-level `notify:` list: run once at the very end of a run (of a run and its
// fallback), whatever the outcome, so that someone always hears of an unattended run.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <rollback/actions/action.hpp>
#include <rollback/engine/run_record.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/proc/runner.hpp>

namespace rollback::engine {

// Sends each call, resolved against `scope` (which holds the run's outcome as run.result,
// run.summary...). A call whose required parameter resolves to nothing (an empty var: no
// webhook configured) is skipped, and one that is the same as an earlier call (same
// action, same resolved parameters: a pair of plans sharing one webhook) is sent once.
// Each record is named notify-1, notify-2... in list order; none changes the run's result.
// `sent` holds what was sent so far (action and resolved parameters): pass the same set to
// the calls for the lists of one run.
std::vector<StepRecord> send_notifications(const actions::Registry& registry, proc::Runner& runner,
                                           const std::vector<plan::NotifyCall>& calls, const plan::Scope& scope,
                                           Millis timeout_each, std::set<std::string>& sent);

}  // namespace rollback::engine
