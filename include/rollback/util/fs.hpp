// Small filesystem helpers shared by the journal, the report and the adapters.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <rollback/util/result.hpp>

namespace rollback {

// Writes `content` to `path` atomically: a temp file beside it, fsync, rename, fsync of the
// directory. A reader sees the old file or the new one, never a torn one.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Appends one line (a '\n' is added) and fsyncs before returning.
Status append_line_synced(const std::filesystem::path& path, std::string_view line);

Result<std::string> read_file(const std::filesystem::path& path);

// fsync(2) of a directory, so a rename into it survives a crash. Best effort.
void fsync_dir(const std::filesystem::path& dir);

// Whether a file name is one rollback writes before renaming it into place (".x.partial-PID",
// "x.partial.PID", "x.tmp.PID", ".report-reserve"): never part of a backup's checksums.
bool is_unfinished_file(std::string_view name);

// Reserves `bytes` of disk for `path` (created owner-only when missing), so that what is
// written there later cannot fail for want of space: `beyond_end` keeps the file's size
// (the journal, appended into the reserve), else the file holds the space until removed
// (the report's reserve, freed just before the report is written). Fails with the OS's
// reason ("No space left on device").
Status reserve_space(const std::filesystem::path& path, std::uint64_t bytes, bool beyond_end);

// Creates `dir` and its missing parents owner-only (0700); existing ones are left as they
// are. Backups, journals and reports hold the application's data and credentials.
Status make_private_dirs(const std::filesystem::path& dir);
// Removes, best effort, every entry of `dir` whose name starts with `prefix`: what work that
// was cut short (a prune, a download) left under a hidden name.
void remove_entries_starting_with(const std::filesystem::path& dir, std::string_view prefix);
// The same with another mode for the dirs it creates (set exactly, whatever the umask).
Status make_dirs(const std::filesystem::path& dir, unsigned mode);

// Writes all of `data` to `fd` (short writes and EINTR resumed); `path` names it in the error.
Status write_all(int fd, std::string_view data, const std::filesystem::path& path);

// Hex SHA-256 of a file's content, streamed (constant memory).
Result<std::string> sha256_file(const std::filesystem::path& path);
std::string sha256_hex(std::string_view data);

// Restore sources this process has read end to end and found good. A restore proves its
// source at preflight and again when the step runs (preflight may have been minutes ago);
// the second proof reads a multi-gigabyte file again only when it changed in between: its
// size, mtime, ctime or inode moved (ctime cannot be set back by a writer). `proof` names
// what was proved ("tar -tzf", "pg.restore format=auto"); `facts` is what the proof found,
// handed back on a hit.
class ProofToken;  // the file's stat before the proof started
ProofToken start_proof(const std::filesystem::path& path);
void remember_proof(const ProofToken& token, std::string_view proof, std::string facts = {});
std::optional<std::string> proven_unchanged(const std::filesystem::path& path, std::string_view proof);

class ProofToken {
 public:
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    long long mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

 private:
  friend ProofToken start_proof(const std::filesystem::path& path);
  friend void remember_proof(const ProofToken& token, std::string_view proof, std::string facts);
  std::filesystem::path path_;
  std::optional<Stamp> before_;
};

}  // namespace rollback
