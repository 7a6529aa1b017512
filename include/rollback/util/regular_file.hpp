// Verification reads data, never a device or a pipe: a SHA256SUMS entry that is a symlink to
// /dev/zero, or a FIFO, would otherwise be read for ever (with the run lock held). The one
// proof used wherever a target's files are read to verify them (`targets`, preflight,
// rehearse, retention: plan/target_dir.cpp; fs.checksum: util/checksums.cpp), and by the
// readers that hash or prove a file (sha256_file, read_archive).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include <rollback/util/result.hpp>

namespace rollback {

// An open file descriptor, closed when it goes.
class OpenFile {
 public:
  OpenFile() = default;
  explicit OpenFile(int fd) : fd_(fd) {}
  OpenFile(OpenFile&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  OpenFile& operator=(OpenFile&& other) noexcept;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Opens `path` for reading when it is a regular file (symlinks followed): a FIFO neither
// blocks the open (O_NONBLOCK) nor is read, and a device is refused, both as "<path>: not a
// regular file (a FIFO)".
Result<OpenFile> open_regular(const std::filesystem::path& path);

// The same for `relative`, a name a checksum list gives, inside `folder`: the name is never
// followed when it is a symlink (O_NOFOLLOW), and the file must be inside `folder` once
// resolved (what the kernel opened, not the path's text), so a symlinked dir on the way
// cannot lead out either. Anything else is refused as "not a regular file ...".
Result<OpenFile> open_regular_inside(const std::filesystem::path& folder,
                                     const std::string& relative);

// open_regular_inside, then the whole file when it holds at most `limit` bytes (SHA256SUMS,
// manifest.json: small files a crafted target could make endless).
Result<std::string> read_regular_inside(const std::filesystem::path& folder,
                                        const std::string& relative,
                                        std::size_t limit = std::size_t{16} << 20);

}  // namespace rollback
