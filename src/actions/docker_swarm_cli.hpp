// What the Swarm actions share beyond docker_common: asking the engine about the swarm it
// belongs to, observing services and their tasks through the CLI, and the wait loop that
// docker.stack.deploy and docker.service.rollback run. Private to src/actions/.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_swarm.hpp>

namespace rollback::actions::docker::swarm {

// The engine's clock (task and update timestamps are written by it): its time when asked,
// moved on by our steady clock, so our own clock's skew never matters.
class EngineClock {
 public:
  explicit EngineClock(SystemTime at = std::chrono::system_clock::now())
      : at_(at), taken_(std::chrono::steady_clock::now()) {}
  SystemTime now() const { return at(std::chrono::steady_clock::now()); }
  // The engine's time at a moment of our steady clock.
  SystemTime at(std::chrono::steady_clock::time_point when) const {
    return at_ + std::chrono::duration_cast<SystemTime::duration>(when - taken_);
  }

 private:
  SystemTime at_;
  std::chrono::steady_clock::time_point taken_;
};

// How the swarm actions run their short read-only CLI calls: bounded, and not logged (they
// poll; the log would be nothing but them).
inline RunOptions quiet() { return {.cap = kShortCommand, .log_output = false, .log_command = false}; }

// `docker info`'s view of the swarm.
struct SwarmInfo {
  std::string local_state;  // LocalNodeState: active | inactive | pending | error | locked
  bool manager = false;     // ControlAvailable
  long long nodes = 0;
  std::string node_id;
  EngineClock clock;
};

// Fails unless the engine is an active swarm manager. rollback never joins or leaves a
// swarm; the message says how to reach a manager instead.
Result<SwarmInfo> require_manager(ActionContext& ctx, const Params& p);

// The service IDs a step selects: every service labelled with `stack`, or the `service`
// names (each must exist).
Result<std::vector<std::string>> selected_services(ActionContext& ctx, const Params& p);
Result<std::vector<std::string>> stack_services(ActionContext& ctx, const Params& p,
                                                const std::string& stack);

struct Snapshot {
  std::vector<ServiceState> services;
  std::vector<TaskState> tasks;  // every task Swarm still keeps for them
  // When the tasks were asked for: what they say was true then, not when the (possibly slow)
  // answer arrived, so a task's age is judged at this moment.
  std::chrono::steady_clock::time_point observed = std::chrono::steady_clock::now();
};
Result<Snapshot> observe(ActionContext& ctx, const Params& p,
                         const std::vector<std::string>& service_ids);

// The image ID a running task of `s` (current spec) was created from, when its container is
// on the node we talk to (`node_id`): a container on another node cannot be inspected from
// here. "" otherwise.
std::string running_image_id(ActionContext& ctx, const Params& p, const ServiceState& s,
                             const Snapshot& snapshot, const std::string& node_id);

// "stack shop" or "service shop_api, shop_db": the selection in words.
std::string selection_words(const Params& p);

// How long `wait` may poll: a duration, or true for the rest of the step (5 minutes when the
// step has no timeout); 0 when absent or false.
Millis wait_budget(const ActionContext& ctx, const Params& p);
// An action's parameters plus the waiting ones docker.stack.deploy and docker.service.rollback
// share, read by the wait loop: `wait` (until `waits_for`), `poll`, `max_failures`, `pending`.
std::vector<ParamSpec> with_wait(std::vector<ParamSpec> params, const std::string& waits_for);

// Polls every `poll` until each service converged for `goal` (returns `started` with one
// observation per service), one failed for certain (not transient, with that service's last
// log lines), or the wait ran out (transient).
Outcome wait_converged(ActionContext& ctx, const Params& p,
                       const std::vector<std::string>& service_ids, Goal goal,
                       const EngineClock& clock, SystemTime since, Outcome started);

// A verdict per service, in the snapshot's order.
std::vector<Verdict> judge_all(const Snapshot& snapshot, const JudgeOptions& options);
void add_observations(Outcome& outcome, const Snapshot& snapshot,
                      const std::vector<Verdict>& verdicts);

// Runs argv with extra environment (stack deploy reads its variables from there) and the
// step's `host`; errors as docker::explain words them.
Result<proc::Completed> run_with_env(ActionContext& ctx, const Params& p,
                                     const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env, Millis cap);

// Whether an image reference is present on the engine (`docker image inspect`).
Result<bool> image_present(ActionContext& ctx, const Params& p, const std::string& image);

// Load-time rules shared by the Swarm actions.
void validate_service_selection(ParamCheck& check);  // `stack` or `service`, not both
void validate_wait(ParamCheck& check);               // true/false or a duration

// One registration per file, each a line of src/actions/registry.cpp's list.
void register_stack_deploy_action(Registry& registry);
void register_service_rollback_action(Registry& registry);
void register_service_ps_action(Registry& registry);
void register_stack_record_action(Registry& registry);

}  // namespace rollback::actions::docker::swarm
