// One flock(2) on one file: the only lock implementation (the run lock and the criteria
// state's lock both sit on it). The kernel drops an flock when its holder dies, so a crash
// never leaves a lock someone must delete by hand.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <rollback/util/result.hpp>

namespace rollback {

class FileLock {
 public:
  enum class Wait { No, Yes };

  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // Opens (creating it, mode 0644, close-on-exec so no child keeps it) and locks `file`
  // exclusively. Wait::No: nullopt inside the result when another process holds it. An
  // error when the file cannot be opened or locked for another reason.
  static Result<std::optional<FileLock>> take(const std::filesystem::path& file, Wait wait);

  // The process that holds an exclusive flock on `file` now, as the kernel reports it
  // (/proc/locks): never a PID read from a file someone could have written. nullopt when
  // nobody holds it (or the file does not exist). Reads only: it never contends.
  static std::optional<long> holder_pid(const std::filesystem::path& file);

  bool held() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void release();  // the destructor does it otherwise

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace rollback
