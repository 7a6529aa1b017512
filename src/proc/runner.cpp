#include <rollback/proc/runner.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rollback/proc/bounded_buffer.hpp>
#include <rollback/proc/guardian.hpp>

#include "spawn.hpp"

namespace rollback::proc {
namespace {

using Clock = std::chrono::steady_clock;

// Self-pipe: request_cancel() writes a byte from a signal handler; poll() wakes on it.
std::atomic<bool> g_cancel{false};
int g_cancel_pipe[2] = {-1, -1};

void ensure_cancel_pipe() {
  static bool made = [] {
    if (::pipe2(g_cancel_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_cancel_pipe[0] = -1;
    return true;
  }();
  (void)made;
}

// Splits a stream into lines for the callback; a line longer than kMaxLine is passed on in
// pieces so a binary blob without newlines cannot grow this buffer.
class LineSplitter {
 public:
  static constexpr size_t kMaxLine = 8192;
  LineSplitter(Stream stream, const Command& command) : stream_(stream), command_(command) {}
  void feed(std::string_view data) {
    if (!command_.on_line) return;
    for (char c : data) {
      if (c == '\n') {
        flush();
      } else {
        partial_.push_back(c);
        if (partial_.size() >= kMaxLine) flush();
      }
    }
  }
  void finish() {
    if (!partial_.empty()) flush();
  }

 private:
  void flush() {
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    command_.on_line(stream_, partial_);
    partial_.clear();
  }
  Stream stream_;
  const Command& command_;
  std::string partial_;
};

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
  return Pipe{fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

void request_cancel() noexcept {
  g_cancel.store(true);
  if (g_cancel_pipe[1] >= 0) {
    char byte = 1;
    ssize_t ignored = ::write(g_cancel_pipe[1], &byte, 1);
    (void)ignored;
  }
}

bool cancel_requested() noexcept { return g_cancel.load(); }

void reset_cancel() noexcept {
  g_cancel.store(false);
  if (g_cancel_pipe[0] >= 0) {
    char buf[64];
    while (::read(g_cancel_pipe[0], buf, sizeof buf) > 0) {
    }
  }
}

std::string Completed::outcome() const {
  if (cancelled) return "interrupted";
  if (timed_out) return fmt::format("timed out after {}", format_duration(duration));
  if (term_signal != 0) return fmt::format("killed by signal {}", term_signal);
  return fmt::format("exit {}", exit_code);
}

std::string display_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out.push_back(' ');
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`;&|<>*?()[]{}!#~") == std::string::npos;
    if (plain) {
      out += arg;
    } else {
      out.push_back('\'');
      for (char c : arg) {
        if (c == '\'') out += "'\\''";
        else out.push_back(c);
      }
      out.push_back('\'');
    }
  }
  return out;
}

bool program_available(const std::string& program) { return !detail::find_program(program).empty(); }

Result<Completed> SystemRunner::run(const Command& command) {
  if (command.argv.empty()) return fail("internal error: empty argv");
  ensure_cancel_pipe();
  std::string path = detail::find_program(command.argv[0]);
  if (path.empty()) return fail(fmt::format("program not found: {} (not in PATH)", command.argv[0]));
  if (command.cwd && !std::filesystem::is_directory(*command.cwd))
    return fail(fmt::format("working directory does not exist: {}", command.cwd->string()));

  auto out_pipe = make_pipe();
  if (!out_pipe) return std::unexpected(out_pipe.error());
  auto err_pipe = make_pipe();
  if (!err_pipe) {
    ::close(out_pipe->read_fd);
    ::close(out_pipe->write_fd);
    return std::unexpected(err_pipe.error());
  }

  std::vector<std::string> env_strings = detail::build_environment(command.env, command.unset_env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const auto& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  detail::SpawnSpec spec{.path = path.c_str(),
                         .argv = argv.data(),
                         .envp = envp.data(),
                         .stdin_path = command.stdin_path ? command.stdin_path->c_str() : nullptr,
                         .stdout_path = command.stdout_path ? command.stdout_path->c_str() : nullptr,
                         .stdout_fd = out_pipe->write_fd,
                         .stderr_fd = err_pipe->write_fd,
                         .cwd = command.cwd ? command.cwd->c_str() : nullptr};
  auto started = Clock::now();
  auto spawned = detail::spawn_supervised(spec);
  ::close(out_pipe->write_fd);
  ::close(err_pipe->write_fd);
  if (!spawned) {
    ::close(out_pipe->read_fd);
    ::close(err_pipe->read_fd);
    return std::unexpected(spawned.error());
  }
  pid_t pid = *spawned;

  Completed done;
  BoundedBuffer out_buf(command.capture_limit), err_buf(command.capture_limit);
  LineSplitter out_lines(Stream::Out, command), err_lines(Stream::Err, command);
  int out_fd = out_pipe->read_fd, err_fd = err_pipe->read_fd;

  auto deadline = command.timeout.count() > 0 ? std::optional(started + command.timeout)
                                               : std::nullopt;
  std::optional<Clock::time_point> kill_at;
  bool reaped = false;
  int wait_status = 0;
  // Readable the moment the child exits, so a short command costs its own run time and not
  // a poll period on top (a rollback runs dozens of them). Kernels before 5.3 have none: the
  // 50 ms wake-up below then notices the exit.
  // (glibc 2.36's <sys/pidfd.h> lacks extern "C", hence the raw syscall.)
  int exit_fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));

  auto stop_group = [&](bool timed_out) {
    if (kill_at) return;
    done.timed_out = done.timed_out || timed_out;
    done.cancelled = done.cancelled || !timed_out;
    ::killpg(pid, SIGTERM);
    kill_at = Clock::now() + command.kill_grace;
  };

  char buf[65536];
  auto drain = [&](int& fd, BoundedBuffer& keep, LineSplitter& lines, bool blocking_ok) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      keep.append(std::string_view(buf, static_cast<size_t>(n)));
      lines.feed(std::string_view(buf, static_cast<size_t>(n)));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN) || !blocking_ok) {
      close_fd(fd);
    }
  };

  while (!reaped) {
    if (cancel_requested() && !command.survives_cancel) stop_group(false);
    auto now = Clock::now();
    if (deadline && now >= *deadline) stop_group(true);
    if (kill_at && now >= *kill_at) {
      ::killpg(pid, SIGKILL);
      kill_at = Clock::time_point::max();
    }
    // Wake at least every 50 ms to notice the child's exit even if a grandchild keeps the
    // pipes open (a daemonized helper must not make us hang).
    int wait_ms = 50;
    if (deadline && !kill_at) {
      auto left = std::chrono::duration_cast<Millis>(*deadline - now).count();
      wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 50));
    }
    pollfd fds[4];
    int nfds = 0;
    int out_idx = -1, err_idx = -1;
    if (out_fd >= 0) { out_idx = nfds; fds[nfds++] = {out_fd, POLLIN, 0}; }
    if (err_fd >= 0) { err_idx = nfds; fds[nfds++] = {err_fd, POLLIN, 0}; }
    // Once the group is being stopped the pipe stays readable (drained only by
    // reset_cancel): polling it then would spin at 100% CPU through the grace period.
    if (g_cancel_pipe[0] >= 0 && !kill_at && !command.survives_cancel) fds[nfds++] = {g_cancel_pipe[0], POLLIN, 0};
    if (exit_fd >= 0) fds[nfds++] = {exit_fd, POLLIN, 0};
    int ready = ::poll(fds, static_cast<nfds_t>(nfds), wait_ms);
    if (ready > 0) {
      if (out_idx >= 0 && (fds[out_idx].revents & (POLLIN | POLLHUP | POLLERR)))
        drain(out_fd, out_buf, out_lines, true);
      if (err_idx >= 0 && (fds[err_idx].revents & (POLLIN | POLLHUP | POLLERR)))
        drain(err_fd, err_buf, err_lines, true);
    }
    pid_t w = ::waitpid(pid, &wait_status, WNOHANG);
    if (w == pid) reaped = true;
    else if (w < 0 && errno != EINTR) reaped = true;
  }
  if (exit_fd >= 0) ::close(exit_fd);

  // The child is gone; take what is already in the pipes without waiting on grandchildren.
  for (int* fd : {&out_fd, &err_fd}) {
    if (*fd < 0) continue;
    ::fcntl(*fd, F_SETFL, ::fcntl(*fd, F_GETFL) | O_NONBLOCK);
    auto& keep = fd == &out_fd ? out_buf : err_buf;
    auto& lines = fd == &out_fd ? out_lines : err_lines;
    for (int i = 0; i < 1024 && *fd >= 0; ++i) drain(*fd, keep, lines, false);
    close_fd(*fd);
  }
  out_lines.finish();
  err_lines.finish();
  // A timed-out or cancelled tree is stopped entirely, grandchildren included.
  if (done.timed_out || done.cancelled) ::killpg(pid, SIGKILL);

  done.duration = std::chrono::duration_cast<Millis>(Clock::now() - started);
  if (WIFEXITED(wait_status)) done.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) done.term_signal = WTERMSIG(wait_status);
  done.out_bytes = out_buf.total();
  done.err_bytes = err_buf.total();
  done.out = out_buf.str();
  done.err = err_buf.str();
  return done;
}

Runner& system_runner() {
  static SystemRunner runner;
  return runner;
}

Result<std::unique_ptr<Guard>> Runner::guard(const Command&) { return std::unique_ptr<Guard>(); }

Result<std::unique_ptr<Guard>> SystemRunner::guard(const Command& undo) { return start_guardian(undo); }

}  // namespace rollback::proc
