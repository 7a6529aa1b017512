// Volume archives on the host: tar streams compressed with zstd (libzstd, multi-threaded)
// or gzip (zlib), or left plain, written and read in one pass that also hashes the file
// and checks the tar structure. The docker volume actions move only a plain tar stream
// through their helper container; everything here runs in rollback itself.
//
// Formats: the name of a new archive chooses (".tar.zst"/".tzst" zstd, ".tar.gz"/".tgz"
// gzip, ".tar" none) unless `compress:` says otherwise; an existing archive is read by its
// magic bytes, never by its name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <rollback/util/result.hpp>
#include <rollback/util/sha256.hpp>

namespace rollback {

enum class Compression { None, Gzip, Zstd };

std::string_view to_string(Compression compression);  // "none", "gzip", "zstd"
std::optional<Compression> parse_compression(std::string_view text);
// From an archive's file name; nullopt when the name says nothing (".bin").
std::optional<Compression> compression_from_name(std::string_view name);
// From the first bytes of a file (at least 262 for a plain tar); nullopt when none fits.
std::optional<Compression> compression_from_magic(std::string_view head);
// The names an archive of `base` (without its extension) may have, preferred first:
// "x" -> "x.tar.zst", "x.tar.gz", "x.tgz", "x.tar". `name` with a known extension is
// stripped of it first.
std::vector<std::string> archive_name_candidates(std::string_view name);

// Receives bytes as they are produced; an error stops the stream.
using Sink = std::function<Status(std::string_view)>;

// A tar stream checked as it passes through: each header's checksum and size, contents of
// the declared length, and the end-of-archive marker. A truncated or damaged stream fails
// in finish() (or feed()).
class TarChecker {
 public:
  Status feed(std::string_view data);
  Status finish();
  std::uint64_t entries() const { return entries_; }
  // Entries a restore would not give back by default (util/tar_filter.hpp): device nodes
  // and FIFOs, and entries whose mode has setuid or setgid.
  std::uint64_t special_entries() const { return special_; }
  std::uint64_t setid_entries() const { return setid_; }
  bool ended() const { return ended_; }  // the end-of-archive marker went past

 private:
  Status header(const unsigned char* block);
  void note_postgres(const std::string& name, char type, std::uint64_t size);
  void capture(std::string_view content);
  // A PostgreSQL data directory (a folder with PG_VERSION, not a database's own under
  // base/) must hold a global/pg_control that reads (util/pg_control.hpp): a copy taken
  // while initdb still ran cannot start, so finish() refuses it.
  std::set<std::string> pg_roots_, pg_controls_read_;
  std::string pg_capture_root_, pg_captured_;
  std::uint64_t pg_capture_left_ = 0;
  std::string pending_;           // an incomplete 512-byte block
  std::uint64_t skip_ = 0;        // content bytes still to pass
  std::uint64_t offset_ = 0;      // stream position, for messages
  std::uint64_t entries_ = 0;
  std::uint64_t special_ = 0, setid_ = 0;
  int zero_blocks_ = 0;
  bool ended_ = false;
};

class Compressor {
 public:
  virtual ~Compressor() = default;
  // `level` 0 = the format's fast default; `workers` 0 = one per core (zstd only).
  static Result<std::unique_ptr<Compressor>> make(Compression compression, int level = 0, int workers = 0);
  virtual Status feed(std::string_view data, const Sink& out) = 0;
  virtual Status finish(const Sink& out) = 0;
};

class Decompressor {
 public:
  virtual ~Decompressor() = default;
  static Result<std::unique_ptr<Decompressor>> make(Compression compression);
  virtual Status feed(std::string_view data, const Sink& out) = 0;
  virtual Status finish() = 0;  // fails for a stream cut short
};

// What one complete pass over an archive found.
struct ArchiveFacts {
  Compression compression = Compression::None;
  std::string sha256;              // of the file as stored
  std::uint64_t stored_bytes = 0;  // the file's size
  std::uint64_t tar_bytes = 0;     // the tar stream's size
  std::uint64_t entries = 0;
  std::uint64_t special_entries = 0;  // device nodes and FIFOs
  std::uint64_t setid_entries = 0;    // setuid or setgid in their mode
};

// Reads `path` once: hashes it, decompresses it (format from its magic) and checks the tar
// stream, handing the tar bytes to `tar_sink` when given (a restore). Errors name the file
// and what is wrong ("is truncated", "is not a tar.zst: ...").
Result<ArchiveFacts> read_archive(const std::filesystem::path& path, const Sink& tar_sink = {});

// read_archive without a sink, remembered (util/fs.hpp's proofs) while the file is
// unchanged: target verification, preflight and run all ask, the file is read once.
Result<ArchiveFacts> prove_archive(const std::filesystem::path& path);
// A file's sha256 for a checksum list. For an archive (by its name), the same pass proves
// it whole, so the restore that reads it next does not read it again; `broken` then says
// why it does not read (the sha256 is given all the same, to report a mismatch first).
Result<std::string> digest_proving(const std::filesystem::path& path, std::string& broken);

// Records what the writer learned while writing `path` (its sha256, that its tar is whole),
// once the file is under its final name: SHA256SUMS and the next proof do not read it again.
void remember_written_archive(const std::filesystem::path& path, const ArchiveFacts& facts);
// A proof still standing for `path`, without reading it.
std::optional<ArchiveFacts> proven_archive(const std::filesystem::path& path);

// Writes an archive from a tar stream: compresses, hashes what it writes and checks the tar
// stream on the way in, into `path` (the caller's temporary name).
class ArchiveWriter {
 public:
  ArchiveWriter(std::filesystem::path path, Compression compression, int level = 0);
  ~ArchiveWriter();
  Status open();
  Status write(std::string_view tar_bytes);
  // Flushes, fsyncs and closes; the facts of the archive written.
  Result<ArchiveFacts> close();

 private:
  Status put(std::string_view stored);
  std::filesystem::path path_;
  Compression compression_;
  int level_;
  int fd_ = -1;
  std::unique_ptr<Compressor> compressor_;
  TarChecker checker_;
  Sha256 hash_;
  ArchiveFacts facts_;
};

}  // namespace rollback
