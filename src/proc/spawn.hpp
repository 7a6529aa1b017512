// Starting a child that cannot outlive rollback (private to proc/; runner.cpp uses it).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <rollback/util/result.hpp>

namespace rollback::proc::detail {

struct SpawnSpec {
  const char* path = nullptr;          // absolute path of the program (looked up beforehand)
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* stdin_path = nullptr;    // opened read-only as fd 0
  const char* stdout_path = nullptr;   // else stdout_fd
  int stdout_fd = -1;
  int stderr_fd = -1;
  const char* cwd = nullptr;           // nullptr: ours
};

// Forks a small supervisor that leads a new process group and runs the program as its
// child in that group, then mirrors the child's exit status as its own. The supervisor
// asks the kernel for a signal when the thread that started it dies
// (PR_SET_PDEATHSIG); getting it after rollback itself died (SIGKILL, a crash), it kills
// the whole group. So a killed rollback leaves no child, grandchild or shell script
// running on. A timeout or Ctrl-C still stops the group from rollback's side (killpg).
//
// Returns the supervisor's pid, which is also the process group id. Between fork and
// exec only async-signal-safe calls are made (the rest of rollback may run threads).
Result<pid_t> spawn_supervised(const SpawnSpec& spec);

// The inherited environment with `set` on top and `unset` removed, as "NAME=value".
std::vector<std::string> build_environment(const std::map<std::string, std::string>& set,
                                           const std::vector<std::string>& unset);

// The absolute path PATH resolves `program` to (as execvp would), or "" when none.
std::string find_program(const std::string& program);

}  // namespace rollback::proc::detail
