// Only regular files are read to verify a target (include/rollback/util/regular_file.hpp).
#include <rollback/util/regular_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

namespace rollback {
namespace fs = std::filesystem;

namespace {

std::string kind_of(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "not a plain file";
}

Error not_regular(const fs::path& shown, mode_t mode) {
  return Error{fmt::format("{}: not a regular file ({})", shown.string(), kind_of(mode))};
}

// Opens with O_NONBLOCK (a FIFO without a writer must not block the open), refuses what
// fstat does not call regular, then reads block as usual.
Result<OpenFile> open_checked(const fs::path& path, const fs::path& shown, int extra_flags) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra_flags);
  if (fd < 0) {
    int err = errno;
    struct stat st {};
    // ELOOP under O_NOFOLLOW: the name is a symlink. ENXIO: a socket. Say what it is.
    if ((err == ELOOP || err == ENXIO) && ::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      return std::unexpected(not_regular(shown, st.st_mode));
    return fail(fmt::format("cannot open {}: {}", shown.string(), std::strerror(err)));
  }
  OpenFile file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return fail(fmt::format("cannot stat {}: {}", shown.string(), std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return std::unexpected(not_regular(shown, st.st_mode));
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return file;
}

bool inside_folder(const fs::path& path, const fs::path& folder) {
  auto rel = path.lexically_relative(folder);
  return !rel.empty() && *rel.begin() != ".." && !rel.is_absolute();
}

}  // namespace

OpenFile& OpenFile::operator=(OpenFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<OpenFile> open_regular(const fs::path& path) {
  return open_checked(path, path, 0);
}

Result<OpenFile> open_regular_inside(const fs::path& folder, const std::string& relative) {
  fs::path rel(relative);
  if (relative.empty() || rel.is_absolute())
    return fail(fmt::format("{}: not a regular file inside {}", relative, folder.string()));
  for (const auto& part : rel)
    if (part == "..")
      return fail(fmt::format("{}: not a regular file inside {}", relative, folder.string()));
  auto file = open_checked(folder / rel, rel, O_NOFOLLOW);
  if (!file) return file;
  // Where the kernel says the open file is, against where the folder really is.
  std::error_code ec;
  fs::path root = fs::canonical(folder, ec);
  fs::path real = fs::read_symlink(fs::path("/proc/self/fd") / std::to_string(file->fd()), ec);
  if (ec) real = fs::canonical(folder / rel, ec);
  if (ec) return fail(fmt::format("{}: cannot tell where it is: {}", relative, ec.message()));
  if (!inside_folder(real, root))
    return fail(fmt::format("{}: not a regular file inside {} (it is {})", relative,
                            folder.string(), real.string()));
  return file;
}

Result<std::string> read_regular_inside(const fs::path& folder, const std::string& relative,
                                        std::size_t limit) {
  auto file = open_regular_inside(folder, relative);
  if (!file) return std::unexpected(file.error());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(file->fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return fail(
          fmt::format("cannot read {}: {}", (folder / relative).string(), std::strerror(errno)));
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > limit)
      return fail(
          fmt::format("{}: larger than {} bytes, not what rollback writes", relative, limit));
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace rollback
