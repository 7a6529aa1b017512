// Starting the built `rollback` in the background (for lock races and signals): argv only,
// stdout/stderr to files, the caller waits or signals by pid.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

extern char** environ;

namespace cli_test {

struct Background {
  pid_t pid = -1;
  std::filesystem::path out, err;
};

// Any program in the background (argv[0] looked up on PATH), its output in DIR/TAG.out/.err.
inline Background spawn_program(std::vector<std::string> all, const std::filesystem::path& dir,
                                const std::string& tag) {
  Background bg;
  bg.out = dir / (tag + ".out");
  bg.err = dir / (tag + ".err");
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, bg.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, bg.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (posix_spawnp(&bg.pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) bg.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return bg;
}

inline Background spawn_rollback(const std::vector<std::string>& args, const std::filesystem::path& dir,
                                 const std::string& tag) {
  std::vector<std::string> all{ROLLBACK_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  return spawn_program(std::move(all), dir, tag);
}

// The exit code (or 128 + signal), or -1 when it did not end within `limit`.
inline int wait_exit(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

inline bool wait_for_file(const std::filesystem::path& path, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (std::filesystem::exists(path) && std::filesystem::file_size(path) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace cli_test
