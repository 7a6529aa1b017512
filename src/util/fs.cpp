#include <rollback/util/fs.hpp>
#include <rollback/util/regular_file.hpp>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <fmt/format.h>
#include <unistd.h>

#include <rollback/util/sha256.hpp>

namespace rollback {
namespace fs = std::filesystem;

namespace {

std::string errno_text(const fs::path& path, const char* what) {
  return fmt::format("{} {}: {}", what, path.string(), std::strerror(errno));
}


}  // namespace

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      // Said as what it is, where it is: a full disk is the on-call's next action.
      if (errno == ENOSPC || errno == EDQUOT)
        return fail(fmt::format("no space left on {} (writing {}: {})", path.parent_path().string(),
                                path.filename().string(), std::strerror(errno)));
      return fail(errno_text(path, "cannot write"));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Status write_file_atomic(const fs::path& path, std::string_view content) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += fmt::format(".tmp.{}", ::getpid());
  // A new file of our own, never through a link someone left under that name.
  fs::remove(tmp, ec);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(errno_text(tmp, "cannot create"));
  auto written = write_all(fd, content, tmp);
  if (written && ::fsync(fd) != 0) written = fail(errno_text(tmp, "cannot fsync"));
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = fail(errno_text(path, "cannot rename into"));
    ::unlink(tmp.c_str());
    return err;
  }
  fsync_dir(path.parent_path());
  return ok();
}

Status append_line_synced(const fs::path& path, std::string_view line) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(errno_text(path, "cannot open"));
  std::string buffer(line);
  buffer.push_back('\n');
  auto written = write_all(fd, buffer, path);
  if (written && ::fsync(fd) != 0) written = fail(errno_text(path, "cannot fsync"));
  ::close(fd);
  return written;
}

bool is_unfinished_file(std::string_view name) {
  return name.find(".partial") != std::string_view::npos || name.find(".tmp.") != std::string_view::npos ||
         name == ".report-reserve";
}

Status reserve_space(const fs::path& path, std::uint64_t bytes, bool beyond_end) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(errno_text(path, "cannot create"));
  int rc = ::fallocate(fd, beyond_end ? FALLOC_FL_KEEP_SIZE : 0, 0, static_cast<off_t>(bytes));
  int err = errno;
  ::close(fd);
  if (rc == 0) return ok();
  if (err != EOPNOTSUPP) {
    errno = err;
    return fail(errno_text(path, fmt::format("cannot reserve {} bytes for", bytes).c_str()));
  }
  // A filesystem without fallocate: at least the room must be there now.
  struct statvfs st {};
  if (::statvfs(path.parent_path().c_str(), &st) == 0 &&
      static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize < bytes)
    return fail(fmt::format("cannot reserve {} bytes for {}: No space left on device", bytes, path.string()));
  return ok();
}

Status make_private_dirs(const fs::path& dir) { return make_dirs(dir, 0700); }

void remove_entries_starting_with(const fs::path& dir, std::string_view prefix) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().starts_with(prefix)) {
      std::error_code removed;
      fs::remove_all(it->path(), removed);
    }
}

Status make_dirs(const fs::path& dir, unsigned mode) {
  std::error_code ec;
  fs::path built;
  for (const auto& part : dir) {
    built /= part;
    if (fs::exists(built, ec)) continue;
    if (::mkdir(built.c_str(), static_cast<mode_t>(mode)) != 0) {
      if (errno == EEXIST) continue;  // made by someone else meanwhile: theirs, left as it is
      return fail(errno_text(built, "cannot create"));
    }
    // The umask only takes bits away; the mode asked for is the mode wanted.
    if (::chmod(built.c_str(), static_cast<mode_t>(mode)) != 0) return fail(errno_text(built, "cannot set the mode of"));
  }
  return ok();
}

// Streams an open file through `consume` in 64 KiB chunks (constant memory).
template <class Consume>
Status for_each_chunk(int fd, const fs::path& path, Consume consume) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_text(path, "cannot read"));
    }
    if (n == 0) return ok();
    consume(std::string_view(buf, static_cast<size_t>(n)));
  }
}

Result<std::string> read_file(const fs::path& path) {
  OpenFile file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd() < 0) return fail(errno_text(path, "cannot open"));
  std::string out;
  RB_TRY(for_each_chunk(file.fd(), path, [&](std::string_view chunk) { out.append(chunk); }));
  return out;
}

Result<std::string> sha256_file(const fs::path& path) {
  // A backup hashes what it writes, and an archive's proof hashes what it reads: a file
  // already hashed and unchanged since is not read again.
  if (auto known = proven_unchanged(path, "sha256")) return *known;
  auto token = start_proof(path);
  auto file = open_regular(path);  // never a FIFO or /dev/zero, which would be read for ever
  if (!file) return std::unexpected(file.error());
  Sha256 hasher;
  RB_TRY(for_each_chunk(file->fd(), path, [&](std::string_view chunk) { hasher.update(chunk); }));
  auto hex = hasher.hex_digest();
  remember_proof(token, "sha256", hex);
  return hex;
}

std::string sha256_hex(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.hex_digest();
}

namespace {

// lstat: a symbolic link is never taken for the file it points to (it has its own inode).
std::optional<ProofToken::Stamp> stamp_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  auto ns = [](const timespec& t) { return static_cast<long long>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; };
  return ProofToken::Stamp{st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
}

struct Proven {
  ProofToken::Stamp stamp;
  std::string facts;
};
std::mutex g_proofs_mutex;
std::map<std::string, Proven> g_proofs;  // "proof:dev:ino"

// By the file itself (device and inode), not its path: a backup's target is proved once
// written, then renamed into place (commit), and its files are the same files there.
std::string proof_key(const ProofToken::Stamp& stamp, std::string_view proof) {
  return fmt::format("{}:{}:{}", proof, static_cast<unsigned long long>(stamp.dev),
                     static_cast<unsigned long long>(stamp.ino));
}

}  // namespace

ProofToken start_proof(const fs::path& path) {
  ProofToken token;
  token.path_ = path;
  token.before_ = stamp_of(path);
  return token;
}

void remember_proof(const ProofToken& token, std::string_view proof, std::string facts) {
  // Only when nothing changed while the proof was reading.
  if (!token.before_ || stamp_of(token.path_) != token.before_) return;
  std::lock_guard lock(g_proofs_mutex);
  g_proofs[proof_key(*token.before_, proof)] = Proven{*token.before_, std::move(facts)};
}

std::optional<std::string> proven_unchanged(const fs::path& path, std::string_view proof) {
  auto now = stamp_of(path);
  if (!now) return std::nullopt;
  std::lock_guard lock(g_proofs_mutex);
  auto it = g_proofs.find(proof_key(*now, proof));
  if (it == g_proofs.end() || !(it->second.stamp == *now)) return std::nullopt;
  return it->second.facts;
}

}  // namespace rollback
