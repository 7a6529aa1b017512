// Planted files and folders (include/rollback/util/trust.hpp).
#include <rollback/util/trust.hpp>

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>

namespace rollback {
namespace fs = std::filesystem;

std::string owner_text(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return pw && pw->pw_name ? fmt::format("uid {} ({})", uid, pw->pw_name) : fmt::format("uid {}", uid);
}

namespace {

std::string describe(const fs::path& path, const struct stat& st) {
  return fmt::format("{} is owned by {}, mode {:04o}", path.string(), owner_text(st.st_uid), st.st_mode & 07777);
}

// One entry: `self` is the path asked about, else a folder above it.
std::string entry_problem(const fs::path& path, const struct stat& st, uid_t user, bool self) {
  const bool owner_ok = st.st_uid == user || st.st_uid == 0;
  const bool writable_by_others = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  const bool sticky_root_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0;
  if (!owner_ok) return describe(path, st) + ": another user owns it";
  if (writable_by_others && !(sticky_root_dir && !self))
    return describe(path, st) + ": group or others can write it";
  return "";
}

// The folders from `path` up to /, the deepest first; only those that exist.
std::string walk(const fs::path& path, uid_t user, bool check_self) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) return fmt::format("{}: {}", path.string(), ec.message());
  // Symlinks are resolved: what counts is what is read, and every folder on the way to it.
  fs::path real = fs::weakly_canonical(absolute, ec);
  if (ec) real = absolute.lexically_normal();
  bool self = true;
  for (fs::path at = real;; at = at.parent_path()) {
    struct stat st{};
    if (::lstat(at.c_str(), &st) == 0 && (check_self || !self)) {
      if (auto problem = entry_problem(at, st, user, self); !problem.empty()) return problem;
    }
    self = false;
    if (at == at.root_path() || at.empty()) break;
  }
  return "";
}

}  // namespace

std::string untrusted_reason(const fs::path& path, uid_t user) { return walk(path, user, /*check_self=*/true); }

std::string unsafe_state_dir_reason(const fs::path& dir, uid_t user) {
  struct stat st{};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) return fmt::format("{} is a symlink: a state dir must be a real folder", dir.string());
    if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a folder", dir.string());
    if (st.st_uid != user) return describe(dir, st) + ": a state dir must be owned by the user who runs rollback";
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return describe(dir, st) + ": group or others can write it";
  }
  return walk(dir, user, /*check_self=*/false);
}

}  // namespace rollback
