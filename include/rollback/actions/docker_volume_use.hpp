// Volumes in use: a restore under a running container corrupts what it runs (a live
// PostgreSQL), and a tar of a running database's files may never restore. So a restore
// refuses while a running container mounts the volume, and a backup pauses the running
// containers that mount it for the copy (a point-in-time image), unpausing them on every
// path. Pauses are counted per container, so in a parallel group one step's unpause never
// frees a container that another step is still copying.
//
// "Every path" includes a run killed by SIGKILL: a guardian process (proc/guardian.hpp)
// unpauses them if the run dies during the copy, and a record in the runtime dir lets the
// next run that touches a volume unpause what a run killed with its guardian left paused.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <rollback/actions/docker_common.hpp>
#include <rollback/proc/guardian.hpp>

namespace rollback::actions::docker {

// Running (or paused, or restarting) containers that mount `volume`, as "name (id)".
Result<std::vector<std::string>> containers_using(ActionContext& ctx, const Params& p, const std::string& volume);

// The containers one backup paused, unpaused when it is destroyed (or by release()).
class PausedContainers {
 public:
  PausedContainers(ActionContext& ctx, const Params& p) : ctx_(ctx), p_(p) {}
  ~PausedContainers();
  PausedContainers(const PausedContainers&) = delete;
  PausedContainers& operator=(const PausedContainers&) = delete;

  // Pauses every running container that mounts `volume` (recorded as held resources),
  // guarded first; `docker pause` is tried again on a cgroup freeze race.
  Status pause_users_of(const std::string& volume);
  // Unpauses what this one paused (the last holder of a container unpauses it).
  void release();
  const std::vector<std::string>& names() const { return names_; }
  std::chrono::milliseconds paused_for() const { return paused_for_; }

 private:
  Status guard(const std::vector<std::string>& ids);

  ActionContext& ctx_;
  const Params& p_;
  std::vector<std::string> ids_, names_;
  std::chrono::steady_clock::time_point since_{};
  std::chrono::milliseconds paused_for_{0};
  std::unique_ptr<proc::Guard> guardian_;
  std::filesystem::path record_;  // the runtime dir's record of the pause
};

// Unpauses what runs that died left recorded as paused in the runtime dir, in any state dir.
void unpause_orphans(proc::Runner& runner, const std::function<void(std::string_view)>& log);

// The cleanup of pausing actions: unpauses the containers a killed run left paused (held
// in this state dir's journals, or recorded in the runtime dir by any run that died).
void unpause_held(CleanupContext& ctx);

}  // namespace rollback::actions::docker
