// What every docker.* action shares: how the docker and compose CLIs are invoked (context,
// DOCKER_HOST, the compose flavour found once per process), how a failed docker command is
// turned into a message that says what is wrong and where, and the read-only checks that
// restores run before touching anything (daemon answers, helper image present, volume
// exists).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rollback/actions/action.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions::docker {

// Helper image used by the volume actions when a step names none (the runbook's `alpine`).
inline constexpr const char* kDefaultHelperImage = "alpine:3";

// Time cap for short inspection commands (inspect, ps, version); long ones (run, up, down)
// get all the step's remaining time.
inline constexpr Millis kShortCommand{30'000};

// {"docker"} plus `--context X` when the step sets `context`.
std::vector<std::string> docker_argv(const Params& p);
// An action's parameters plus the two every docker.* action takes: `context` and `host`,
// which docker_argv turns into --context / DOCKER_HOST.
std::vector<ParamSpec> with_engine(std::vector<ParamSpec> params);

// The compose CLI, detected once per process: `docker compose` (v2 plugin) when
// `docker compose version` answers, else `docker-compose` (v1) when it is on PATH. Plus
// `--context X`. Fails when neither is installed.
Result<std::vector<std::string>> compose_argv(ActionContext& ctx, const Params& p);
void forget_compose_cli();  // for tests: detect again, forget what the engine confirmed

// Where the daemon is expected, for messages: the `host` param, `context X`, $DOCKER_HOST,
// or the default socket.
std::string daemon_address(const Params& p);

// "step restore-db: " (empty when the context has no step id).
std::string step_prefix(const ActionContext& ctx);

struct RunOptions {
  Millis cap{0};                                     // 0: the step's whole remaining time
  std::optional<std::filesystem::path> cwd;
  std::optional<std::filesystem::path> stdout_path;  // stdout to a file (logs `to:`)
  std::optional<std::filesystem::path> stdin_path;   // stdin from a file (a FIFO for `docker cp -`)
  bool log_output = true;                            // stream lines to the step log
  // Log "$ argv" first. Off for commands run off the main thread (the step log is not
  // thread-safe): their caller logs the line before starting them.
  bool log_command = true;
};

// Runs a docker / compose argv with the step's `host` (DOCKER_HOST) applied, logging the
// command line first. Errors only when the program could not be started.
Result<proc::Completed> run(ActionContext& ctx, const Params& p, const std::vector<std::string>& argv,
                            const RunOptions& options = {});

// Why `what` ("docker volume create app_data") failed, in words an operator can act on:
// daemon not reachable, image missing, volume missing, timed out, or the tool's last error
// line. Daemon and timeout failures are marked transient.
Error explain(const ActionContext& ctx, const Params& p, std::string_view what,
              const Result<proc::Completed>& done);

// Runs argv and turns anything but success into explain()'s error.
Result<proc::Completed> run_checked(ActionContext& ctx, const Params& p,
                                    const std::vector<std::string>& argv, const RunOptions& options = {});

Outcome to_outcome(const Error& error);

// Read-only checks (used by preflight and again at run time). A yes is remembered for a
// few seconds, so a plan's ten docker steps do not ask the engine the same thing ten times.
Status check_daemon(ActionContext& ctx, const Params& p);
Status check_image_present(ActionContext& ctx, const Params& p, const std::string& image);
Result<bool> volume_exists(ActionContext& ctx, const Params& p, const std::string& volume);

// Whether a `filter` selects the container `name`: a prefix anchored at a word boundary.
// `staging` selects staging, staging-api-1, staging_api_1 and staging.1.x, never staging2
// nor prod-staging; a filter that ends in `-`, `_` or `.` (`staging_`) is its own boundary.
bool name_selected(std::string_view filter, std::string_view name);
inline constexpr const char* kFilterDoc =
    "container name prefixes, each anchored at a word boundary: staging selects staging, "
    "staging-api-1 and staging_api_1, never staging2 nor prod-staging";

struct SelectedContainer {
  std::string id;    // full
  std::string name;  // without the leading '/'
};
// The containers of the step's selection: `project` (compose label) and/or `filter` (any of
// the name filters, name_selected); `all` includes stopped ones.
Result<std::vector<SelectedContainer>> select_containers(ActionContext& ctx, const Params& p,
                                                         bool all);
// Their ids (full).
Result<std::vector<std::string>> list_containers(ActionContext& ctx, const Params& p, bool all);
// "project x, name~y": the selection in words, for messages.
std::string selection(const Params& p);
// Load-time rule of actions that select containers: `project` or `filter` is needed.
void validate_selection(ParamCheck& check);

// One container as `docker inspect` sees it.
struct ContainerState {
  std::string id;
  std::string name;     // without the leading '/'
  std::string service;  // com.docker.compose.service label, "" when not a compose container
  std::string status;   // running | restarting | exited | created | paused | dead
  std::string health;   // "" (no healthcheck) | starting | healthy | unhealthy
  long long restarts = 0;
  bool restarting = false;
  std::string started_at;  // State.StartedAt as the engine wrote it (RFC 3339, UTC)
  std::string created_at;  // Created, likewise: restarts counts only the deaths since then

  // Running, not restarting, and healthy when it has a healthcheck.
  bool up() const;
  std::string describe() const;  // "running", "running (health: starting)", "restarting"
};

Result<std::vector<ContainerState>> inspect_containers(ActionContext& ctx, const Params& p,
                                                       const std::vector<std::string>& ids);
// Splits output into non-empty trimmed lines (container ids, service names).
std::vector<std::string> output_lines(std::string_view text);

// The `app_logs` behaviour (docker logs --since, docker_logs.cpp) of compose, ps, stop and
// stats: the application's logs of the containers the params select.
Outcome app_logs(ActionContext& ctx, const Params& p, std::chrono::system_clock::time_point since);

}  // namespace rollback::actions::docker
