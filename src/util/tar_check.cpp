// Tar streams checked in passing (TarChecker in include/rollback/util/archive.hpp): the
// ustar/GNU/pax header layout every tar writes, enough to find a truncated or damaged
// archive without extracting it.
#include <rollback/util/archive.hpp>
#include <rollback/util/pg_control.hpp>
#include <rollback/util/tar_filter.hpp>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace rollback {
namespace {

constexpr size_t kBlock = 512;
constexpr std::uint64_t kPgControlRead = 8192;

// The entry's path without "./" or "/" in front: ustar's prefix and name fields joined.
std::string entry_name(const unsigned char* block) {
  auto field = [&](size_t at, size_t width) {
    const char* start = reinterpret_cast<const char*>(block + at);
    return std::string(start, strnlen(start, width));
  };
  std::string name = field(0, 100);
  if (std::memcmp(block + 257, "ustar", 5) == 0)
    if (auto prefix = field(345, 155); !prefix.empty()) name = prefix + "/" + name;
  while (name.starts_with("./")) name.erase(0, 2);
  while (name.starts_with('/')) name.erase(0, 1);
  return name;
}

// "a/b/c" -> "a/b"; "c" -> "".
std::string parent_of(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

}  // namespace

void TarChecker::note_postgres(const std::string& name, char type, std::uint64_t size) {
  if (type != '0' && type != '\0') return;
  if (name == "PG_VERSION" || name.ends_with("/PG_VERSION")) {
    auto dir = parent_of(name);
    // base/<oid>/PG_VERSION is a database's, inside a data directory.
    if (parent_of(dir) != "base" && !parent_of(dir).ends_with("/base")) pg_roots_.insert(dir);
  }
  if (name == "global/pg_control" || name.ends_with("/global/pg_control")) {
    pg_capture_root_ = parent_of(parent_of(name));
    pg_captured_.clear();
    pg_capture_left_ = std::min(size, kPgControlRead);
    if (pg_capture_left_ == 0) capture("");
  }
}

void TarChecker::capture(std::string_view content) {
  auto n = static_cast<size_t>(std::min<std::uint64_t>(pg_capture_left_, content.size()));
  pg_captured_.append(content.substr(0, n));
  pg_capture_left_ -= n;
  if (pg_capture_left_ > 0) return;
  if (pg_control_reads(pg_captured_)) pg_controls_read_.insert(pg_capture_root_);
  pg_capture_root_.clear();
  pg_captured_.clear();
}

std::optional<std::uint64_t> tar_number_field(const unsigned char* field, size_t width) {
  if (field[0] & 0x80) {
    std::uint64_t value = field[0] & 0x7f;
    for (size_t i = 1; i < width; ++i) value = (value << 8) | field[i];
    return value;
  }
  std::uint64_t value = 0;
  size_t i = 0;
  while (i < width && (field[i] == ' ' || field[i] == 0)) ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    value = value * 8 + (field[i] - '0');
    any = true;
  }
  for (; i < width; ++i)
    if (field[i] != ' ' && field[i] != 0) return std::nullopt;
  return any ? std::optional(value) : std::optional<std::uint64_t>(0);
}


Status TarChecker::header(const unsigned char* block) {
  bool zero = std::all_of(block, block + kBlock, [](unsigned char c) { return c == 0; });
  if (zero) {
    if (++zero_blocks_ >= 1 && entries_ > 0) ended_ = true;
    return ok();
  }
  if (ended_) return ok();  // after the end marker: padding of the last record
  zero_blocks_ = 0;
  auto stored = tar_number_field(block + 148, 8);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : block[i];
  if (!stored || *stored != sum)
    return fail(fmt::format("damaged tar header at byte {} (checksum differs)", offset_));
  auto size = tar_number_field(block + 124, 12);
  if (!size) return fail(fmt::format("damaged tar header at byte {} (size field)", offset_));
  char type = static_cast<char>(block[156]);
  // Links, devices, directories and FIFOs carry no content whatever their size says.
  bool has_content = !(type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6');
  if (type == '3' || type == '4' || type == '6') ++special_;
  if (auto mode = tar_number_field(block + 100, 8); mode && (*mode & 06000) && type != 'x' && type != 'g' && type != 'L' &&
                                                  type != 'K')
    ++setid_;
  skip_ = has_content ? (*size + kBlock - 1) / kBlock * kBlock : 0;
  ++entries_;
  note_postgres(entry_name(block), type, has_content ? *size : 0);
  return ok();
}

Status TarChecker::feed(std::string_view data) {
  while (!data.empty()) {
    if (skip_ > 0) {
      auto n = static_cast<size_t>(std::min<std::uint64_t>(skip_, data.size()));
      if (pg_capture_left_ > 0) capture(data.substr(0, n));
      skip_ -= n;
      offset_ += n;
      data.remove_prefix(n);
      continue;
    }
    size_t take = std::min(kBlock - pending_.size(), data.size());
    if (pending_.empty() && take == kBlock) {
      RB_TRY(header(reinterpret_cast<const unsigned char*>(data.data())));
    } else {
      pending_.append(data.substr(0, take));
      if (pending_.size() < kBlock) {
        offset_ += take;
        data.remove_prefix(take);
        continue;
      }
      RB_TRY(header(reinterpret_cast<const unsigned char*>(pending_.data())));
      pending_.clear();
    }
    offset_ += take;
    data.remove_prefix(take);
  }
  return ok();
}

Status TarChecker::finish() {
  if (skip_ > 0 || !pending_.empty())
    return fail(fmt::format("the tar stream is cut short at byte {} (an entry's content is incomplete)", offset_));
  if (entries_ == 0 && zero_blocks_ == 0) return fail("the tar stream is empty");
  if (!ended_ && entries_ > 0)
    return fail(fmt::format("the tar stream is cut short at byte {} (no end-of-archive marker)", offset_));
  for (const auto& root : pg_roots_)
    if (!pg_controls_read_.contains(root))
      return fail(fmt::format("it holds a PostgreSQL data directory ({}) that cannot start: its global/pg_control is "
                              "missing or unreadable (a copy taken while the cluster was still initialising?)",
                              root.empty() ? "the volume's root" : root));
  return ok();
}

std::string_view to_string(Compression compression) {
  switch (compression) {
    case Compression::Zstd: return "zstd";
    case Compression::Gzip: return "gzip";
    case Compression::None: return "none";
  }
  return "none";
}

std::optional<Compression> parse_compression(std::string_view text) {
  if (text == "zstd") return Compression::Zstd;
  if (text == "gzip") return Compression::Gzip;
  if (text == "none") return Compression::None;
  return std::nullopt;
}

namespace {

constexpr std::pair<std::string_view, Compression> kExtensions[] = {
    {".tar.zst", Compression::Zstd}, {".tzst", Compression::Zstd}, {".tar.gz", Compression::Gzip},
    {".tgz", Compression::Gzip},     {".tar", Compression::None}};

}  // namespace

std::optional<Compression> compression_from_name(std::string_view name) {
  for (const auto& [ext, c] : kExtensions)
    if (name.ends_with(ext)) return c;
  return std::nullopt;
}

std::optional<Compression> compression_from_magic(std::string_view head) {
  if (head.size() >= 4 && static_cast<unsigned char>(head[0]) == 0x28 && static_cast<unsigned char>(head[1]) == 0xB5 &&
      static_cast<unsigned char>(head[2]) == 0x2F && static_cast<unsigned char>(head[3]) == 0xFD)
    return Compression::Zstd;
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1F && static_cast<unsigned char>(head[1]) == 0x8B)
    return Compression::Gzip;
  if (head.size() >= 262 && head.substr(257, 5) == "ustar") return Compression::None;
  return std::nullopt;
}

std::vector<std::string> archive_name_candidates(std::string_view name) {
  std::string base(name);
  for (const auto& [ext, c] : kExtensions)
    if (base.ends_with(ext)) {
      base.resize(base.size() - ext.size());
      break;
    }
  std::vector<std::string> out;
  for (const auto& [ext, c] : kExtensions) out.push_back(base + std::string(ext));
  // The name as written first: it is what the plan (or the runbook's tar czf) asked for.
  auto it = std::find(out.begin(), out.end(), std::string(name));
  if (it != out.end()) std::rotate(out.begin(), it, it + 1);
  return out;
}

}  // namespace rollback
