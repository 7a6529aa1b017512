// include/rollback/util/process.hpp
#include <rollback/util/process.hpp>

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace rollback {

namespace {

std::string exe_of(const std::string& proc) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(proc + "/exe", ec);
  return ec ? std::string() : target.string();
}

}  // namespace

Status signal_same_program(long pid, int sig) {
  if (pid <= 1) return fail(fmt::format("pid {} is not a process to signal", pid));
  // Pinned first: every check below is about this process, even if its PID were reused.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (pidfd < 0) return fail(fmt::format("pid {}: {}", pid, std::strerror(errno)));
  std::string proc = fmt::format("/proc/{}", pid);
  struct stat st{};
  Status verdict = ok();
  std::string mine = exe_of("/proc/self"), theirs = exe_of(proc);
  if (::stat(proc.c_str(), &st) != 0) verdict = fail(fmt::format("pid {} is gone", pid));
  else if (st.st_uid != ::geteuid()) verdict = fail(fmt::format("pid {} belongs to uid {}, not to us", pid, st.st_uid));
  else if (mine.empty() || theirs != mine)
    verdict = fail(fmt::format("pid {} runs {}, not this rollback ({})", pid, theirs.empty() ? "?" : theirs, mine));
  else if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) != 0)
    verdict = fail(fmt::format("cannot signal pid {}: {}", pid, std::strerror(errno)));
  ::close(pidfd);
  return verdict;
}

}  // namespace rollback
