// What the Swarm actions (docker.stack.deploy, docker.service.rollback, docker.service.ps,
// docker.stack.record) know of Swarm without running anything: services and tasks as
// `docker service inspect` / `docker inspect --type task` print them, the verdict "has this
// service converged, is it still converging, or has it certainly failed", env files, and
// the record of a stack that pins each service to the image it ran.
//
// Everything here is pure (text in, values out), so the unit tests feed it recorded JSON.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/util/duration.hpp>
#include <rollback/util/result.hpp>
#include <rollback/util/time.hpp>

namespace rollback::actions::docker::swarm {

// Swarm's default update monitor period, used when a service's UpdateConfig has none.
inline constexpr Millis kDefaultMonitor{5'000};
// Deploy and Rollback count a running task only once it has run for the monitor period plus
// kSettle (the engine's time to notice that a process exited, with margin), seen running by
// two consecutive polls; kConfirmAfter is how soon the second look comes when needed.
inline constexpr Millis kSettle{2'000};
inline constexpr Millis kConfirmAfter{500};

// One task, from `docker inspect --type task`.
struct TaskState {
  std::string id;
  std::string service_id;
  std::string node_id;
  long long slot = 0;
  std::string desired;  // DesiredState: running | ready | shutdown | remove | accepted
  std::string state;  // Status.State: pending ... running | complete | failed | rejected | shutdown
  std::string error;  // Status.Err ("task: non-zero exit (3)", "no suitable node (...)")
  std::optional<SystemTime> since;  // Status.Timestamp: when it entered `state` (engine clock)
  std::string container_id;
  std::string image;  // Spec.ContainerSpec.Image
  long long force_update = 0;

  bool wanted() const { return desired == "running" || desired == "ready"; }  // not being stopped
  bool ended()
      const;  // in a terminal state (complete, failed, rejected, shutdown, orphaned, remove)
  bool failed() const { return state == "failed" || state == "rejected" || state == "complete"; }
};

// One service, from `docker service inspect`.
struct ServiceState {
  std::string id;
  std::string name;        // Spec.Name: "shop_api"
  std::string stack;       // com.docker.stack.namespace label, "" outside a stack
  std::string short_name;  // the compose service name: "api" ("shop_api" outside a stack)
  std::string mode;        // replicated | global | job
  long long replicas = 0;  // replicated: the desired count
  std::string image;       // Spec.TaskTemplate.ContainerSpec.Image
  long long force_update = 0;
  std::string update_state;    // UpdateStatus.State, "" when absent
  std::string update_message;  // UpdateStatus.Message
  std::optional<SystemTime> update_started;
  Millis monitor = kDefaultMonitor;  // Spec.UpdateConfig.Monitor
  std::string restart_condition = "any";
  long long max_attempts = 0;
  bool has_previous = false;   // PreviousSpec present: `docker service rollback` can act
  bool previous_same = false;  // PreviousSpec equals Spec: a rollback would change nothing
  std::string previous_image;  // PreviousSpec's image, "" without one
  nlohmann::json spec;         // the whole Spec, for the record

  // Whether `t` runs this service's current spec (its image and force-update counter).
  bool current(const TaskState& t) const {
    return t.image == image && t.force_update == force_update;
  }
};

// Parse the JSON arrays the CLI prints; an error names what was expected.
Result<std::vector<ServiceState>> parse_services(std::string_view inspect_json);
Result<std::vector<TaskState>> parse_tasks(std::string_view inspect_json);
// The same from one JSON object a line (`docker inspect --type task --format` with
// kTaskFormat): what parse_tasks reads, a few hundred bytes a task instead of 3 KB.
Result<std::vector<TaskState>> parse_task_lines(std::string_view lines);
inline constexpr const char* kTaskFormat =
    R"({"ID":{{json .ID}},"ServiceID":{{json .ServiceID}},"NodeID":{{json .NodeID}},)"
    R"("Slot":{{json .Slot}},"DesiredState":{{json .DesiredState}},"Status":{{json .Status}},)"
    R"("Spec":{"ContainerSpec":{"Image":{{json .Spec.ContainerSpec.Image}}},)"
    R"("ForceUpdate":{{json .Spec.ForceUpdate}}}})";

// What a wait is for. Deploy: the spec just deployed (an update Swarm paused or rolled back
// on its own is a failure). Rollback: Swarm's rollback started after `since` and completed.
// Observe: how things stand now (docker.service.ps), no hold period.
enum class Goal { Observe, Deploy, Rollback };

struct JudgeOptions {
  Goal goal = Goal::Observe;
  SystemTime now;                   // the engine's clock
  std::optional<SystemTime> since;  // when the deploy / rollback started (engine clock)
  long long max_failures = 3;       // failed tasks of the current spec that make failure certain
  Millis pending_limit{10'000};     // how long a task may stay pending on "no suitable node"
  // What the previous poll saw (empty on the first). Deploy and Rollback count a task as
  // having stayed running only when two consecutive polls saw it running since the same
  // moment: one look is one instant of a view the engine may not have updated yet.
  std::vector<TaskState> previous;
};

enum class Convergence { Converged, Converging, Failed };

struct Verdict {
  Convergence state = Convergence::Converging;
  long long running = 0;  // tasks of the current spec running
  long long desired = 0;
  std::string detail;  // "1/1 running", "0/1 running; update paused: ...: task: non-zero exit (4)"
  Millis ready_in{
      0};  // when to look again (sooner than a poll): a hold or an update about to complete
};

// The verdict on one service given its tasks (other services' tasks are ignored).
Verdict judge(const ServiceState& service, const std::vector<TaskState>& tasks,
              const JudgeOptions& options);

// KEY=VALUE lines of an env file as `docker compose --env-file` reads them: blank lines and
// `#` comments skipped, an optional `export `, one pair of matching quotes stripped. A line
// without `=` or with an invalid name is an error naming its line number.
Result<std::map<std::string, std::string>> parse_env_file(std::string_view text);

// "repo@sha256:..." from an image reference that carries a digest ("repo:tag@sha256:..."),
// else "".
std::string digest_reference(std::string_view image);
// The repository of a reference: "registry:5000/team/app" for "registry:5000/team/app:1.2".
std::string repository_of(std::string_view image);

// A service pinned to an exact image: by digest ("repo@sha256:...", valid on every node that
// can pull it) or by bare image ID ("sha256:...", valid only on a node that has it).
struct Pin {
  std::string service;  // compose service name
  std::string image;
  bool by_id = false;
};

// The record docker.stack.record writes (format kRecordFormat): {"stack", "nodes",
// "services": {"api": {"image", "image_id", "digest", "spec", ...}}}.
inline constexpr const char* kRecordFormat = "rollback.swarm-stack/1";

// One pin per recorded service: the digest when one was recorded, else the image ID; a
// service with neither is an error naming it.
Result<std::vector<Pin>> pins_from_record(const nlohmann::json& record);
// Pins from a `images:` map (service -> reference); a reference "sha256:..." is by ID.
std::vector<Pin> pins_from_map(const std::map<std::string, std::string>& images);

// The compose file that overrides each pinned service's image, with the base file's
// `version` (docker stack deploy refuses to merge two files of different versions).
std::string pins_override(const std::vector<Pin>& pins, const std::string& version);

}  // namespace rollback::actions::docker::swarm
