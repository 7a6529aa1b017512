// The supervised spawn of src/proc/spawn.hpp.
#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace rollback::proc::detail {
namespace {

// The pid of the rollback process that forked the supervisor: when the supervisor's parent
// is someone else, rollback is gone. Set in the supervisor before its handler is armed.
volatile pid_t g_parent = 0;

// In the supervisor: SIGTERM or SIGHUP. From the kernel after rollback died (the parent
// changed) it ends the whole group; otherwise it is rollback stopping the group on a
// timeout, which the child receives too and handles within its grace period.
void on_signal(int) {
  if (::getppid() != g_parent) ::kill(0, SIGKILL);
}

[[noreturn]] void run_child(const SpawnSpec& spec, pid_t supervisor) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // The supervisor killed outright (SIGKILL to the group) takes the child with it anyway;
  // this covers a supervisor that dies on its own.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != supervisor) ::_exit(127);
  ::execve(spec.path, spec.argv, spec.envp);
  ::_exit(127);
}

[[noreturn]] void mirror(int status) {
  if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(sig, &dfl, nullptr);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
  ::kill(::getpid(), sig);
  ::_exit(128 + sig);
}

bool wire_fds(const SpawnSpec& spec) {
  int in = ::open(spec.stdin_path ? spec.stdin_path : "/dev/null", O_RDONLY);
  if (in < 0 || ::dup2(in, 0) < 0) return false;
  if (in != 0) ::close(in);
  int out = spec.stdout_fd;
  if (spec.stdout_path) out = ::open(spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (out < 0 || ::dup2(out, 1) < 0) return false;
  if (spec.stderr_fd < 0 || ::dup2(spec.stderr_fd, 2) < 0) return false;
  return spec.cwd == nullptr || ::chdir(spec.cwd) == 0;
}

[[noreturn]] void run_supervisor(const SpawnSpec& spec, pid_t parent) {
  ::setpgid(0, 0);
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  g_parent = parent;
  struct sigaction watch {};
  watch.sa_handler = on_signal;
  sigfillset(&watch.sa_mask);
  ::sigaction(SIGTERM, &watch, nullptr);
  ::sigaction(SIGHUP, &watch, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, nullptr);
  ::sigaction(SIGQUIT, &ignore, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::kill(0, SIGKILL);  // rollback died before the request
  if (!wire_fds(spec)) ::_exit(127);
  // The supervisor never execs, so O_CLOEXEC does not close what it inherited: another
  // thread's FIFO or pipe end held here would keep that stream open (a writer blocked on a
  // reader that gave up, a reader never seeing EOF) for as long as this child runs.
  ::close_range(3, ~0U, 0);
  pid_t self = ::getpid();
  pid_t child = ::fork();
  if (child < 0) ::_exit(127);
  if (child == 0) run_child(spec, self);
  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGHUP);
  ::sigprocmask(SIG_UNBLOCK, &watched, nullptr);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) ::_exit(127);
  }
  mirror(status);
}

}  // namespace

std::vector<std::string> build_environment(const std::map<std::string, std::string>& set,
                                           const std::vector<std::string>& unset) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    if (set.count(name)) continue;
    bool removed = false;
    for (const auto& u : unset) removed = removed || u == name;
    if (!removed) env.emplace_back(entry);
  }
  for (const auto& [k, v] : set) env.push_back(k + "=" + v);
  return env;
}

std::string find_program(const std::string& program) {
  auto executable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
  };
  if (program.empty()) return "";
  if (program.find('/') != std::string::npos) return executable(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    // An empty PATH entry means the current directory.
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) return "";
    dirs.remove_prefix(colon + 1);
  }
}

Result<pid_t> spawn_supervised(const SpawnSpec& spec) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail(fmt::format("cannot start {}: fork: {}", spec.path, std::strerror(errno)));
  if (pid == 0) run_supervisor(spec, parent);
  // Also from this side, so a killpg() right after the fork cannot miss the group.
  ::setpgid(pid, pid);
  return pid;
}

}  // namespace rollback::proc::detail
