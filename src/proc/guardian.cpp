// The guardian (include/rollback/proc/guardian.hpp).
#include <rollback/proc/guardian.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "spawn.hpp"

namespace rollback::proc {
namespace {

constexpr char kDone = 'd';
constexpr int kWatchFd = 3;

// In the forked guardian: only async-signal-safe calls (rollback may run threads).
[[noreturn]] void run_guardian(int read_fd, const char* path, char* const* argv, char* const* envp, unsigned limit_s) {
  ::setsid();
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::sigaction(sig, &ignore, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null = ::open("/dev/null", O_RDWR);
  if (null < 0 || ::dup2(read_fd, kWatchFd) < 0) ::_exit(127);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  // Nothing else of rollback's: another guardian's write end held here would keep that
  // pipe open after rollback died, and its undo would never run.
  ::close_range(kWatchFd + 1, ~0U, 0);
  char byte = 0;
  for (;;) {
    ssize_t n = ::read(kWatchFd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1 && byte == kDone) ::_exit(0);
    break;  // end-of-file (or an error): rollback is gone without saying done
  }
  ::close(kWatchFd);
  // The undo is bounded: SIGALRM's default action ends a hung `docker unpause`.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGALRM, &dfl, nullptr);
  ::alarm(limit_s);
  ::execve(path, argv, envp);
  ::_exit(127);
}

}  // namespace

Guard::~Guard() {
  if (write_fd_ >= 0) {
    ssize_t written;
    do written = ::write(write_fd_, &kDone, 1);
    while (written < 0 && errno == EINTR);
    ::close(write_fd_);
  }
  if (pid_ > 0)
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

Result<std::unique_ptr<Guard>> start_guardian(const Command& undo) {
  if (undo.argv.empty()) return fail("a guardian needs an undo command");
  auto path = detail::find_program(undo.argv[0]);
  if (path.empty()) return fail(fmt::format("cannot start a guardian: {} not found in PATH", undo.argv[0]));
  auto env_strings = detail::build_environment(undo.env, undo.unset_env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const auto& a : undo.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto limit_ms = undo.timeout.count() > 0 ? undo.timeout.count() : 60'000;
  unsigned limit_s = static_cast<unsigned>((limit_ms + 999) / 1000);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return fail(fmt::format("cannot start a guardian: pipe: {}", std::strerror(errno)));
  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return fail(fmt::format("cannot start a guardian: fork: {}", std::strerror(error)));
  }
  if (pid == 0) run_guardian(fds[0], path.c_str(), argv.data(), envp.data(), limit_s);
  ::close(fds[0]);
  return std::make_unique<Guard>(pid, fds[1]);
}

}  // namespace rollback::proc
