// Ending the work a run started: helper containers, paused containers, anything an action
// records as held (ActionContext::hold). The engine knows only that an action may declare a
// cleanup behaviour; what it does is the action's business (shared/style.md: the engine
// names no docker command).
//
// Three moments call it:
// - a step that ends (ok, failed, timed out, interrupted) with resources still held: its
//   action's cleanup runs before the step is reported (the executor);
// - a run's start, holding the lock: what killed runs of this state dir left behind;
// - a run's end, on every path: anything of this run that is left.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <rollback/actions/action.hpp>
#include <rollback/engine/run_record.hpp>

namespace rollback::engine {

struct CleanupRequest {
  std::string state_dir;
  std::string run_id;            // "" = leftovers of any earlier run of the state dir
  std::set<std::string> sweep;   // actions whose cleanup runs even with nothing recorded
  std::function<void(std::string_view line)> log;
  // Cleanups of resources recorded under a name that is no action ("rehearsal": what a
  // rehearsal made), called like an action's; those named here run even with nothing recorded.
  std::map<std::string, std::function<void(actions::CleanupContext&)>> cleaners;
};

// Calls each action's cleanup with its unreleased resources: those of `run_id`'s journal,
// or (run_id "") of every journal in <state>/runs that never recorded its end. Actions in
// `sweep` are called even with none (to look for labelled leftovers). Never throws.
void clean_up(const actions::Registry& registry, proc::Runner& runner, const CleanupRequest& request);

// Runs one action's cleanup on `held` (may be empty). Never throws.
void clean_up_action(const actions::Action& action, proc::Runner& runner, const CleanupRequest& request,
                     std::vector<nlohmann::json> held);

}  // namespace rollback::engine
