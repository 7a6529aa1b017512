// One run per state dir: an flock(2) on <state>/lock. The kernel drops it when the holder
// dies, so a crashed run never wedges the next one (nothing to delete by hand). The file's
// content names the holder (run id, pid, operator, start time) for the loser's message.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <rollback/util/file_lock.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

struct LockHolder {
  std::string run_id;
  long pid = 0;
  std::string operator_name;
  std::string started;  // UTC ISO-8601
  std::string plan;
  // A rehearsal: a real run that finds it holding the lock asks it to stop (it cleans up
  // and lets go) instead of giving up with exit 3.
  bool preemptible = false;
  // Set when the lock could not be taken for another reason than a holder (cannot create
  // the lock file): then describe() returns this instead.
  std::string error;
  std::string describe() const;  // "run 2025...-full (pid 123, operator ana, since ...)"
};

class RunLock {
 public:
  RunLock() = default;
  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();

  // Takes the lock without waiting. On contention the error is the holder.
  static std::expected<RunLock, LockHolder> acquire(const std::filesystem::path& lock_file,
                                                    const LockHolder& me);
  // The same, and when a preemptible holder (a rehearsal) has the lock and `me` is not
  // preemptible: `ask_to_stop(holder)` (which signals it; false when it would not), then
  // retries until the holder lets go or `patience` runs out (the error is then the holder,
  // as for any contention).
  static std::expected<RunLock, LockHolder> acquire_preempting(
      const std::filesystem::path& lock_file, const LockHolder& me, std::chrono::milliseconds patience,
      const std::function<bool(const LockHolder&)>& ask_to_stop);
  // Who holds `lock_file` now (an empty run_id when nobody does): read only.
  static LockHolder holder(const std::filesystem::path& lock_file);
  bool held() const { return file_.held(); }
  // Releases early (the destructor does it otherwise); clears the holder text first.
  void release();

 private:
  FileLock file_;
};

}  // namespace rollback::engine
