// Compression codecs and one-pass archive reading/writing (include/rollback/util/archive.hpp).
#include <rollback/util/archive.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <rollback/util/fs.hpp>
#include <rollback/util/regular_file.hpp>
#include <rollback/util/sha256.hpp>

namespace rollback {
namespace {

constexpr size_t kChunk = 1 << 20;  // bytes per read and per output buffer

class Plain final : public Compressor, public Decompressor {
 public:
  Status feed(std::string_view data, const Sink& out) override { return out(data); }
  Status finish(const Sink&) override { return ok(); }
  Status finish() override { return ok(); }
};

class ZstdCompressor final : public Compressor {
 public:
  ZstdCompressor(int level, int workers) : ctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level == 0 ? 1 : level);
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_nbWorkers, workers == 0 ? static_cast<int>(cores) : workers);
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);  // zstd -t and we both catch a flipped byte
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(ctx_); }
  Status feed(std::string_view data, const Sink& out) override { return run(data, ZSTD_e_continue, out); }
  Status finish(const Sink& out) override { return run({}, ZSTD_e_end, out); }

 private:
  Status run(std::string_view data, ZSTD_EndDirective mode, const Sink& sink) {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t left = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(left)) return fail(fmt::format("zstd: {}", ZSTD_getErrorName(left)));
      if (out.pos > 0) RB_TRY(sink(std::string_view(out_.data(), out.pos)));
      bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) return ok();
    }
  }
  ZSTD_CCtx* ctx_;
  std::vector<char> out_;
};

class ZstdDecompressor final : public Decompressor {
 public:
  ZstdDecompressor() : ctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize()) {}
  ~ZstdDecompressor() override { ZSTD_freeDCtx(ctx_); }
  Status feed(std::string_view data, const Sink& sink) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      last_ = ZSTD_decompressStream(ctx_, &out, &in);
      if (ZSTD_isError(last_)) return fail(fmt::format("not a valid zstd stream ({})", ZSTD_getErrorName(last_)));
      if (out.pos > 0) RB_TRY(sink(std::string_view(out_.data(), out.pos)));
    }
    return ok();
  }
  // 0 from the last call means the frame ended: anything else is a stream cut short.
  Status finish() override { return last_ == 0 ? ok() : fail("is truncated (the zstd stream ends mid-frame)"); }

 private:
  ZSTD_DCtx* ctx_;
  std::vector<char> out_;
  size_t last_ = 1;
};

class GzipCompressor final : public Compressor {
 public:
  explicit GzipCompressor(int level) : out_(kChunk) {
    std::memset(&z_, 0, sizeof z_);
    deflateInit2(&z_, level == 0 ? 3 : level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  }
  ~GzipCompressor() override { deflateEnd(&z_); }
  Status feed(std::string_view data, const Sink& out) override { return run(data, Z_NO_FLUSH, out); }
  Status finish(const Sink& out) override { return run({}, Z_FINISH, out); }

 private:
  Status run(std::string_view data, int flush, const Sink& sink) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());
      z_.avail_out = static_cast<uInt>(out_.size());
      int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) return fail("gzip: deflate failed");
      size_t produced = out_.size() - z_.avail_out;
      if (produced > 0) RB_TRY(sink(std::string_view(out_.data(), produced)));
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) return ok();
    }
  }
  z_stream z_;
  std::vector<char> out_;
};

class GzipDecompressor final : public Decompressor {
 public:
  GzipDecompressor() : out_(kChunk) {
    std::memset(&z_, 0, sizeof z_);
    inflateInit2(&z_, 15 + 32);
  }
  ~GzipDecompressor() override { inflateEnd(&z_); }
  Status feed(std::string_view data, const Sink& sink) override {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    while (z_.avail_in > 0) {
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());
      z_.avail_out = static_cast<uInt>(out_.size());
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return fail(fmt::format("not a valid gzip stream ({})", z_.msg ? z_.msg : "inflate failed"));
      size_t produced = out_.size() - z_.avail_out;
      if (produced > 0) RB_TRY(sink(std::string_view(out_.data(), produced)));
      ended_ = rc == Z_STREAM_END;
      if (ended_ && z_.avail_in > 0) inflateReset(&z_);  // another gzip member follows
      if (rc == Z_BUF_ERROR && produced == 0) break;
    }
    return ok();
  }
  Status finish() override { return ended_ ? ok() : fail("is truncated (the gzip stream ends early)"); }

 private:
  z_stream z_;
  std::vector<char> out_;
  bool ended_ = false;
};

Status read_fully(int fd, std::string& buf, const std::filesystem::path& path) {
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return ok();
}

std::string facts_text(const ArchiveFacts& f) {
  return fmt::format("{} {} {} {} {} {} {}", to_string(f.compression), f.sha256, f.stored_bytes, f.tar_bytes, f.entries,
                     f.special_entries, f.setid_entries);
}

std::optional<ArchiveFacts> facts_of(const std::string& text) {
  ArchiveFacts f;
  char kind[16] = {}, sha[65] = {};
  unsigned long long stored = 0, tar = 0, entries = 0, special = 0, setid = 0;
  // A proof from before the special-file counts has 5 fields: proved again, once.
  if (std::sscanf(text.c_str(), "%15s %64s %llu %llu %llu %llu %llu", kind, sha, &stored, &tar, &entries, &special,
                  &setid) != 7)
    return std::nullopt;
  f.compression = parse_compression(kind).value_or(Compression::None);
  f.sha256 = sha;
  f.stored_bytes = stored;
  f.tar_bytes = tar;
  f.entries = entries;
  f.special_entries = special;
  f.setid_entries = setid;
  return f;
}

}  // namespace

Result<std::unique_ptr<Compressor>> Compressor::make(Compression compression, int level, int workers) {
  switch (compression) {
    case Compression::Zstd: return std::unique_ptr<Compressor>(new ZstdCompressor(level, workers));
    case Compression::Gzip: return std::unique_ptr<Compressor>(new GzipCompressor(level));
    case Compression::None: return std::unique_ptr<Compressor>(new Plain);
  }
  return fail("unknown compression");
}

Result<std::unique_ptr<Decompressor>> Decompressor::make(Compression compression) {
  switch (compression) {
    case Compression::Zstd: return std::unique_ptr<Decompressor>(new ZstdDecompressor);
    case Compression::Gzip: return std::unique_ptr<Decompressor>(new GzipDecompressor);
    case Compression::None: return std::unique_ptr<Decompressor>(new Plain);
  }
  return fail("unknown compression");
}

Result<ArchiveFacts> read_archive(const std::filesystem::path& path, const Sink& tar_sink) {
  auto file = open_regular(path);  // a FIFO or a device would be read for ever
  if (!file) return std::unexpected(file.error());
  const int fd = file->fd();
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::string buf(kChunk, '\0');
  RB_TRY(read_fully(fd, buf, path));
  if (buf.empty()) return fail(fmt::format("{} is empty", path.string()));
  auto compression = compression_from_magic(buf);
  if (!compression) return fail(fmt::format("{} is not a tar archive (neither zstd, gzip nor tar)", path.string()));
  auto decompressor = Decompressor::make(*compression);
  if (!decompressor) return std::unexpected(decompressor.error());
  ArchiveFacts facts;
  facts.compression = *compression;
  Sha256 hash;
  TarChecker tar;
  Sink into_tar = [&](std::string_view data) -> Status {
    facts.tar_bytes += data.size();
    RB_TRY(tar.feed(data));
    return tar_sink ? tar_sink(data) : ok();
  };
  auto where = [&](const Error& e) { return fail(fmt::format("{} {}", path.string(), e.message)); };
  while (!buf.empty()) {
    hash.update(buf);
    facts.stored_bytes += buf.size();
    if (auto fed = (*decompressor)->feed(buf, into_tar); !fed) return where(fed.error());
    buf.resize(kChunk);
    RB_TRY(read_fully(fd, buf, path));
  }
  if (auto done = (*decompressor)->finish(); !done) return where(done.error());
  if (auto done = tar.finish(); !done) return where(done.error());
  facts.sha256 = hash.hex_digest();
  facts.entries = tar.entries();
  facts.special_entries = tar.special_entries();
  facts.setid_entries = tar.setid_entries();
  return facts;
}

Result<ArchiveFacts> prove_archive(const std::filesystem::path& path) {
  if (auto known = proven_archive(path)) return *known;
  auto token = start_proof(path);
  auto facts = read_archive(path);
  if (!facts) return facts;
  remember_proof(token, "archive", facts_text(*facts));
  remember_proof(token, "sha256", facts->sha256);  // SHA256SUMS checks need not read it again
  return facts;
}

void remember_written_archive(const std::filesystem::path& path, const ArchiveFacts& facts) {
  auto token = start_proof(path);
  remember_proof(token, "archive", facts_text(facts));
  remember_proof(token, "sha256", facts.sha256);
}

Result<std::string> digest_proving(const std::filesystem::path& path, std::string& broken) {
  broken.clear();
  if (compression_from_name(path.filename().string())) {
    auto facts = prove_archive(path);
    if (facts) return facts->sha256;
    broken = facts.error().message;
  }
  return sha256_file(path);
}

std::optional<ArchiveFacts> proven_archive(const std::filesystem::path& path) {
  auto text = proven_unchanged(path, "archive");
  return text ? facts_of(*text) : std::nullopt;
}

ArchiveWriter::ArchiveWriter(std::filesystem::path path, Compression compression, int level)
    : path_(std::move(path)), compression_(compression), level_(level) {
  facts_.compression = compression;
}

ArchiveWriter::~ArchiveWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status ArchiveWriter::open() {
  auto made = Compressor::make(compression_, level_);
  if (!made) return std::unexpected(made.error());
  compressor_ = std::move(*made);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) return fail(fmt::format("cannot create {}: {}", path_.string(), std::strerror(errno)));
  return ok();
}

Status ArchiveWriter::put(std::string_view stored) {
  hash_.update(stored);
  facts_.stored_bytes += stored.size();
  return write_all(fd_, stored, path_);
}

Status ArchiveWriter::write(std::string_view tar_bytes) {
  facts_.tar_bytes += tar_bytes.size();
  RB_TRY(checker_.feed(tar_bytes));
  return compressor_->feed(tar_bytes, [this](std::string_view out) { return put(out); });
}

Result<ArchiveFacts> ArchiveWriter::close() {
  RB_TRY(checker_.finish());
  RB_TRY(compressor_->finish([this](std::string_view out) { return put(out); }));
  if (::fsync(fd_) != 0) return fail(fmt::format("cannot fsync {}: {}", path_.string(), std::strerror(errno)));
  ::close(fd_);
  fd_ = -1;
  facts_.sha256 = hash_.hex_digest();
  facts_.entries = checker_.entries();
  facts_.special_entries = checker_.special_entries();
  facts_.setid_entries = checker_.setid_entries();
  return facts_;
}

}  // namespace rollback
