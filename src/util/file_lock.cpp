// The one flock implementation (include/rollback/util/file_lock.hpp).
#include <rollback/util/file_lock.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace rollback {

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (fd_ < 0) return;
  ::close(fd_);  // closing drops the flock
  fd_ = -1;
}

namespace {

int lock_fd(int fd, FileLock::Wait wait) {
  int rc;
  do rc = ::flock(fd, LOCK_EX | (wait == FileLock::Wait::No ? LOCK_NB : 0));
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

}  // namespace

Result<std::optional<FileLock>> FileLock::take(const std::filesystem::path& file, Wait wait) {
  // O_NOFOLLOW: a lock file that is a symlink (planted) is refused, never followed.
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return fail(fmt::format("cannot open lock file {}: {}", file.string(), std::strerror(errno)));
  int failed = lock_fd(fd, wait);
  if (failed == EWOULDBLOCK) {
    ::close(fd);
    return std::optional<FileLock>();
  }
  if (failed != 0) {
    ::close(fd);
    return fail(fmt::format("cannot lock {}: {}", file.string(), std::strerror(failed)));
  }
  return std::optional<FileLock>(FileLock(fd));
}

std::optional<long> FileLock::holder_pid(const std::filesystem::path& file) {
  struct stat st{};
  if (::lstat(file.c_str(), &st) != 0) return std::nullopt;
  // "1: FLOCK  ADVISORY  WRITE 4242 08:01:131077 0 EOF": pid, then major:minor:inode (hex
  // device numbers, decimal inode).
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream in(line);
    std::string id, kind, advisory, mode, device;
    long pid = 0;
    if (!(in >> id >> kind)) continue;
    if (kind == "->") in >> kind;  // a waiter's line: "1: -> FLOCK ..."
    if (!(in >> advisory >> mode >> pid >> device) || kind != "FLOCK" || mode != "WRITE") continue;
    unsigned major = 0, minor = 0;
    unsigned long long inode = 0;
    if (std::sscanf(device.c_str(), "%x:%x:%llu", &major, &minor, &inode) != 3) continue;
    if (inode == st.st_ino && major == ::major(st.st_dev) && minor == ::minor(st.st_dev) &&
        line.find("->") == std::string::npos)
      return pid;
  }
  return std::nullopt;
}

}  // namespace rollback
