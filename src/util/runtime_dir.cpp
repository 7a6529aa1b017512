// The runtime dir (include/rollback/util/runtime_dir.hpp).
#include <rollback/util/runtime_dir.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <rollback/util/trust.hpp>

namespace rollback {
namespace fs = std::filesystem;
namespace {

// Field 22 of /proc/PID/stat, the start time; "" when the process is gone.
std::string start_time_of(long pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) return "";
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return field;
  return "";
}

// The token of a subdir name `<prefix>-<token>-XXXXXX`, or "" when it is not one.
std::string token_of(const std::string& name, const std::string& prefix) {
  if (!name.starts_with(prefix + "-")) return "";
  auto rest = name.substr(prefix.size() + 1);
  auto dash = rest.rfind('-');
  return dash == std::string::npos ? "" : rest.substr(0, dash);
}

}  // namespace

fs::path runtime_dir() {
  if (const char* set = std::getenv("ROLLBACK_RUNTIME_DIR"); set && *set) return fs::path(set);
  if (::geteuid() == 0) return "/run/rollback";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg && fs::path(xdg).is_absolute())
    return fs::path(xdg) / "rollback";
  return fmt::format("/tmp/rollback-{}", ::geteuid());
}

Result<fs::path> ensure_runtime_dir() {
  auto dir = runtime_dir();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(fmt::format("cannot make the runtime dir {}: {} (ROLLBACK_RUNTIME_DIR chooses another)",
                            dir.string(), std::strerror(errno)));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return fail(fmt::format("cannot read the runtime dir {}: {}", dir.string(), std::strerror(errno)));
  if (!S_ISDIR(st.st_mode))
    return fail(fmt::format("the runtime dir {} is not a folder (a symlink or a file another user may have "
                            "planted); remove it or set ROLLBACK_RUNTIME_DIR",
                            dir.string()));
  if (st.st_uid != ::geteuid())
    return fail(fmt::format("the runtime dir {} is owned by {}, not by this user; remove it or set "
                            "ROLLBACK_RUNTIME_DIR",
                            dir.string(), owner_text(st.st_uid)));
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    return fail(fmt::format("cannot make the runtime dir {} private: {}", dir.string(), std::strerror(errno)));
  if (auto reason = untrusted_reason(dir, ::geteuid()); !reason.empty())
    return fail(fmt::format("the runtime dir {} is not safe: {}", dir.string(), reason));
  return dir;
}

std::string this_process_token() {
  static const std::string token = fmt::format("{}.{}", ::getpid(), start_time_of(::getpid()));
  return token;
}

bool process_token_alive(const std::string& token) {
  auto dot = token.find('.');
  if (dot == std::string::npos) return false;
  char* end = nullptr;
  long pid = std::strtol(token.c_str(), &end, 10);
  if (end != token.c_str() + dot || pid <= 0) return false;
  auto started = start_time_of(pid);
  return !started.empty() && started == token.substr(dot + 1);
}

void sweep_dead_runtime_subdirs(const std::string& prefix, const std::function<void(const fs::path&)>& on_dead) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runtime_dir(), ec)) {
    auto token = token_of(entry.path().filename().string(), prefix);
    if (token.empty() || token == this_process_token() || process_token_alive(token)) continue;
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (on_dead) on_dead(entry.path());
    fs::remove_all(entry.path(), ec);
  }
}

Result<fs::path> make_runtime_subdir(const std::string& prefix, const std::function<void(const fs::path&)>& on_dead) {
  auto dir = ensure_runtime_dir();
  if (!dir) return std::unexpected(dir.error());
  sweep_dead_runtime_subdirs(prefix, on_dead);
  auto pattern = (*dir / fmt::format("{}-{}-XXXXXX", prefix, this_process_token())).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return fail(fmt::format("cannot make a folder in the runtime dir {}: {}", dir->string(), std::strerror(errno)));
  return fs::path(pattern);
}

}  // namespace rollback
