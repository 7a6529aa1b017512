// Helper containers: the `docker run` containers rollback starts itself (the volume
// actions' tar), as opposed to the stack's own containers that compose creates.
//
// Killing the docker CLI does not stop its container (shared/field-lessons.md 11), so every
// helper is named after its run and step, labelled rollback.run=<run id> and
// rollback.state=<state dir>, recorded as held while it runs, and removed (`docker rm -f`)
// by the action when it fails, times out or is interrupted, before the step is reported.
// What a killed run left behind, the next run's cleanup finds by label.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rollback/actions/docker_common.hpp>

namespace rollback::actions::docker {

inline constexpr const char* kRunLabel = "rollback.run";
inline constexpr const char* kStateLabel = "rollback.state";
inline constexpr const char* kStepLabel = "rollback.step";

struct Helper {
  std::string name;                 // rb-<run id>-<step>-<4 hex>
  std::vector<std::string> labels;  // "key=value"
};

Helper helper_for(const ActionContext& ctx);

// `docker [--context X] run --rm --name N --label ... --network none -v M... IMAGE COMMAND...`
std::vector<std::string> helper_argv(const Params& p, const Helper& helper, const std::vector<std::string>& mounts,
                                     const std::string& image, const std::vector<std::string>& command);

// A helper created rather than run (`docker create`, then `docker cp` to or from it):
// held from before it exists, removed with `docker rm -f` when this goes out of scope.
class CreatedHelper {
 public:
  CreatedHelper(ActionContext& ctx, const Params& p, Helper helper);
  ~CreatedHelper();
  CreatedHelper(const CreatedHelper&) = delete;
  CreatedHelper& operator=(const CreatedHelper&) = delete;
  const Helper& helper() const { return helper_; }
  // `docker create` of it with `mounts`, no network, `image`'s default command.
  Status create(const std::vector<std::string>& mounts, const std::string& image);

 private:
  ActionContext& ctx_;
  const Params& p_;
  Helper helper_;
  nlohmann::json resource_;
};

// Runs a helper: holds it while it runs, and removes it unless it ended well. The
// returned Completed is the docker CLI's (errors as run()).
Result<proc::Completed> run_helper(ActionContext& ctx, const Params& p, const Helper& helper,
                                   const std::vector<std::string>& argv);

// A host folder that `docker run -v HOST:CONTAINER` can mount: a ':' in it would be read as
// the separator, so it fails here (preflight), naming the folder, not at run time.
Status check_mountable(const ActionContext& ctx, const std::filesystem::path& dir);

// A resource held on an engine (a helper, a paused container): `resource` plus the
// step's context/host, so that a cleanup after a crash reaches the same engine.
nlohmann::json engine_resource(const Params& p, nlohmann::json resource);

// The engine of a held resource, and the ids or names held there.
using HeldOnEngines = std::map<std::pair<std::string, std::string>, std::vector<std::string>>;

// `docker [--context C] VERB... -- IDS` for the engine (context, host), DOCKER_HOST set
// for a host, marked to run even while the run is being interrupted.
proc::Command engine_command(const std::vector<std::string>& verb, const std::vector<std::string>& ids,
                             const std::pair<std::string, std::string>& engine, Millis timeout);

// `docker VERB... -- IDS` on the engine (context, host) of held resources, run even while
// the run is being interrupted: it ends work the run started. A failure is logged, unless
// its stderr holds `benign` (already gone, not paused).
void end_on_engine(proc::Runner& runner, const std::vector<std::string>& verb, const std::vector<std::string>& ids,
                   const std::pair<std::string, std::string>& engine, Millis timeout, std::string_view benign,
                   const std::function<void(std::string_view)>& log);

// The cleanup behaviour of actions that start helpers: removes the held ones and, by
// label, every helper of the state dir (of the run, when one is named).
void remove_helpers(CleanupContext& ctx);

}  // namespace rollback::actions::docker
