// Volumes in use: a restore under a running container corrupts what it runs (a live
// PostgreSQL), and a tar of a running database's files may never restore. So a restore
// refuses while a running container mounts the volume, and a backup pauses the running
// containers that mount it for the copy (a point-in-time image), unpausing them on every
// path. Pauses are counted per container, so in a parallel group one step's unpause never
// frees a container that another step is still copying.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <rollback/actions/docker_common.hpp>

namespace rollback::actions::docker {

// Running (or paused, or restarting) containers that mount `volume`, as "name (id)".
Result<std::vector<std::string>> containers_using(ActionContext& ctx, const Params& p, const std::string& volume);

// The containers one backup paused, unpaused when it is destroyed (or by release()).
class PausedContainers {
 public:
  PausedContainers(ActionContext& ctx, const Params& p) : ctx_(ctx), p_(p) {}
  ~PausedContainers() { release(); }
  PausedContainers(const PausedContainers&) = delete;
  PausedContainers& operator=(const PausedContainers&) = delete;

  // Pauses every running container that mounts `volume` (recorded as held resources).
  Status pause_users_of(const std::string& volume);
  // Unpauses what this one paused (the last holder of a container unpauses it).
  void release();
  const std::vector<std::string>& names() const { return names_; }
  std::chrono::milliseconds paused_for() const { return paused_for_; }

 private:
  ActionContext& ctx_;
  const Params& p_;
  std::vector<std::string> ids_, names_;
  std::chrono::steady_clock::time_point since_{};
  std::chrono::milliseconds paused_for_{0};
};

// The cleanup of pausing actions: unpauses the containers a killed run left paused.
void unpause_held(CleanupContext& ctx);

}  // namespace rollback::actions::docker
