// The one way `rollback` starts external programs (docker, pg_dump, git, plans' exec.run).
// - argv vectors only: nothing is ever parsed by a shell unless a plan literally asks for
//   /bin/sh (exec.run `shell:`), and then the plan's own string is what runs.
// - each child gets its own process group, so a timeout or Ctrl-C stops the whole tree
//   (SIGTERM to the group, SIGKILL after a grace period), and a supervisor that ends the
//   group when rollback itself dies (killed, crashed): no child outlives the run;
// - output is streamed line by line to a callback (the log) and kept in a bounded buffer
//   (head and tail), so memory does not grow with the output's size.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rollback/util/duration.hpp>
#include <rollback/util/result.hpp>

namespace rollback::proc {

enum class Stream { Out, Err };

struct Command {
  std::vector<std::string> argv;                // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;       // set on top of the inherited environment
  std::vector<std::string> unset_env;           // removed from the inherited environment
  std::optional<std::filesystem::path> cwd;
  std::optional<std::filesystem::path> stdin_path;   // else /dev/null
  std::optional<std::filesystem::path> stdout_path;  // stdout written here instead of captured
  Millis timeout{0};                            // 0: no limit
  // SIGTERM -> SIGKILL delay. Short: a step's time limit is a limit (the child gets what is
  // left of it), and the grace period is all it may run over.
  Millis kill_grace{800};
  // Runs even while the run is being interrupted: cleanup after a Ctrl-C (`docker rm -f`
  // of a helper, `docker unpause`) must not be stopped by that Ctrl-C. Give it a timeout.
  bool survives_cancel = false;
  size_t capture_limit = 64 * 1024;             // bytes kept per stream (head + tail)
  std::function<void(Stream, std::string_view line)> on_line;  // streamed output lines
};

struct Completed {
  int exit_code = -1;      // -1 when the child died of a signal
  int term_signal = 0;     // the signal that ended it, if any
  bool timed_out = false;  // we killed it at its deadline
  bool cancelled = false;  // we killed it because the run was interrupted
  Millis duration{0};
  std::string out;         // bounded: head, an "[... N bytes omitted ...]" marker, tail
  std::string err;
  size_t out_bytes = 0;    // total bytes the child wrote to each stream
  size_t err_bytes = 0;

  bool succeeded() const { return exit_code == 0 && !timed_out && !cancelled; }
  // "exit 3", "killed by signal 9", "timed out after 30s", "interrupted": for error messages.
  std::string outcome() const;
};

// The process-runner seam. Adapters take a Runner&; unit tests use a recording fake,
// integration tests the real one.
class Guard;  // proc/guardian.hpp

class Runner {
 public:
  virtual ~Runner() = default;
  // Fails only when the program could not be started (not found, not executable, bad cwd);
  // a program that ran and exited non-zero is a Completed with that exit code.
  virtual Result<Completed> run(const Command& command) = 0;
  // Starts a guardian that runs `undo` if rollback dies while the returned guard lives
  // (proc/guardian.hpp). A fake runs nothing real, so it needs none: null by default.
  virtual Result<std::unique_ptr<Guard>> guard(const Command& undo);
};

class SystemRunner final : public Runner {
 public:
  Result<Completed> run(const Command& command) override;
  Result<std::unique_ptr<Guard>> guard(const Command& undo) override;
};

// Cancellation shared by every running child: set from a signal handler (async-signal-safe)
// and observed by the runner's poll loop, which then stops the child's process group.
void request_cancel() noexcept;
bool cancel_requested() noexcept;
void reset_cancel() noexcept;  // for tests and `resume`

// "docker compose -p 'my app' up -d": for logs and dry-run, quoting only for readability.
std::string display_command(const std::vector<std::string>& argv);

// True when `program` is found in PATH (or is an executable path).
bool program_available(const std::string& program);

// The process's one SystemRunner (it keeps no state between calls).
Runner& system_runner();

}  // namespace rollback::proc
