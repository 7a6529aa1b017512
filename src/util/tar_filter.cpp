// The restore's tar filter (include/rollback/util/tar_filter.hpp). It reads the same
// header layout as TarChecker (tar_check.cpp), which has already proved the stream whole:
// the filter only decides, entry by entry, what goes on.
#include <rollback/util/tar_filter.hpp>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace rollback {
namespace {

constexpr size_t kTarBlock = 512;
// A pax or long-name record larger than this is not a name: refused rather than held.
constexpr std::uint64_t kMaxHeld = 64ull << 20;


std::string text_field(const unsigned char* field, size_t width) {
  const auto* begin = reinterpret_cast<const char*>(field);
  return std::string(begin, strnlen(begin, width));
}

bool is_meta(char type) { return type == 'x' || type == 'L' || type == 'K'; }

// The value of `key` in a pax extended header ("<len> key=value\n" records).
std::optional<std::string> pax_value(std::string_view records, std::string_view key) {
  std::optional<std::string> found;
  while (!records.empty()) {
    size_t space = records.find(' ');
    if (space == std::string_view::npos) break;
    size_t len = 0;
    for (char c : records.substr(0, space)) {
      if (c < '0' || c > '9') return found;
      len = len * 10 + static_cast<size_t>(c - '0');
    }
    if (len <= space + 1 || len > records.size()) break;
    auto record = records.substr(space + 1, len - space - 2);  // without the newline
    if (record.starts_with(key) && record.size() > key.size() && record[key.size()] == '=')
      found = std::string(record.substr(key.size() + 1));
    records.remove_prefix(len);
  }
  return found;
}

void set_checksum(unsigned char* block) {
  unsigned sum = 0;
  for (size_t i = 0; i < kTarBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : block[i];
  auto text = fmt::format("{:06o}", sum);
  std::memcpy(block + 148, text.data(), 6);
  block[154] = 0;
  block[155] = ' ';
}

}  // namespace

TarFilter::TarFilter(Sink out, TarFilterPolicy policy) : out_(std::move(out)), policy_(policy) {}

void TarFilter::end_of_meta() {
  auto body = std::string_view(held_).substr(meta_start_, meta_size_);
  auto trimmed = std::string(body.substr(0, body.find('\0')));
  if (meta_type_ == 'L') long_name_ = trimmed;
  if (meta_type_ == 'K') long_link_ = trimmed;
  if (meta_type_ == 'x') {
    if (auto path = pax_value(body, "path")) long_name_ = *path;
    if (auto link = pax_value(body, "linkpath")) long_link_ = *link;
  }
}

TarFilter::Verdict TarFilter::header(unsigned char* block) {
  if (std::all_of(block, block + kTarBlock, [](unsigned char c) { return c == 0; })) {
    if (++zero_blocks_ >= 2) trailer_ = true;
    return Verdict::Pass;
  }
  zero_blocks_ = 0;
  char type = static_cast<char>(block[156]);
  auto size = tar_number_field(block + 124, 12).value_or(0);
  bool has_content = !(type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6');
  remaining_ = has_content ? (size + kTarBlock - 1) / kTarBlock * kTarBlock : 0;
  if (is_meta(type)) {
    content_ = Content::Hold;
    meta_type_ = type;
    meta_size_ = size;
    meta_start_ = held_.size() + kTarBlock;
    return Verdict::Hold;
  }
  content_ = Content::Pass;
  if (type == 'g') return Verdict::Pass;  // global pax records: for every entry, never dropped
  // The entry the held records describe: its names come from them, else from the header.
  std::string name = std::move(long_name_), link = std::move(long_link_);
  long_name_.clear();
  long_link_.clear();
  bool special = type == '3' || type == '4' || type == '6';
  bool link_to_dropped = false;
  if (type == '1' && !dropped_names_.empty()) {
    if (link.empty()) link = text_field(block + 157, 100);
    link_to_dropped = dropped_names_.contains(link);
  }
  if (policy_.drop_special && (special || link_to_dropped)) {
    if (name.empty()) {
      name = text_field(block, 100);
      // POSIX ustar's prefix (old GNU headers keep times there, "ustar  " rather than "ustar\0").
      auto prefix = text_field(block + 345, 155);
      if (!prefix.empty() && std::memcmp(block + 257, "ustar", 6) == 0) name = prefix + "/" + name;
    }
    dropped_names_.insert(std::move(name));
    ++dropped_;
    content_ = Content::Drop;
    return Verdict::Drop;
  }
  content_ = Content::Pass;
  if (!policy_.clear_setid) return Verdict::Pass;
  auto mode = tar_number_field(block + 100, 8);
  if (!mode || !(*mode & 06000) || (block[100] & 0x80)) return Verdict::Pass;
  auto text = fmt::format("{:07o}", *mode & ~std::uint64_t{06000});
  std::memcpy(block + 100, text.data(), 7);
  block[107] = 0;
  set_checksum(block);
  ++cleared_;
  return Verdict::Changed;
}

Status TarFilter::feed(std::string_view data) {
  // [span, pos) of `data` goes out unchanged, in one piece, when something interrupts it.
  size_t span = 0, pos = 0;
  auto flush = [&]() -> Status {
    if (pos > span) RB_TRY(out_(data.substr(span, pos - span)));
    span = pos;
    return ok();
  };
  while (pos < data.size()) {
    if (trailer_) {
      pos = data.size();
      break;
    }
    if (remaining_ > 0) {
      auto n = static_cast<size_t>(std::min<std::uint64_t>(remaining_, data.size() - pos));
      if (content_ != Content::Pass) {
        RB_TRY(flush());
        if (content_ == Content::Hold) held_.append(data.substr(pos, n));
        span = pos + n;
      }
      pos += n;
      remaining_ -= n;
      if (remaining_ == 0 && content_ == Content::Hold) end_of_meta();
      continue;
    }
    unsigned char* block = nullptr;
    bool in_place = pending_.empty() && data.size() - pos >= kTarBlock;
    unsigned char copy[kTarBlock];
    if (in_place) {
      // Changed in a copy: the input is the caller's.
      std::memcpy(copy, data.data() + pos, kTarBlock);
      block = copy;
      pos += kTarBlock;
    } else {
      RB_TRY(flush());
      size_t take = std::min(kTarBlock - pending_.size(), data.size() - pos);
      pending_.append(data.substr(pos, take));
      pos += take;
      span = pos;
      if (pending_.size() < kTarBlock) continue;
      block = reinterpret_cast<unsigned char*>(pending_.data());
    }
    auto verdict = header(block);
    if (verdict == Verdict::Hold && held_.size() + kTarBlock + remaining_ > kMaxHeld)
      return fail(fmt::format("a tar metadata record of {} bytes is too large", remaining_));
    if (verdict == Verdict::Pass && in_place && held_.empty()) {
      // The fast path: the header stays in the span.
    } else {
      // Everything before this header goes first (the span ends where the header began).
      if (in_place) pos -= kTarBlock;
      RB_TRY(flush());
      if (in_place) pos += kTarBlock;
      span = pos;
      std::string_view bytes(reinterpret_cast<const char*>(block), kTarBlock);
      if (verdict == Verdict::Hold) {
        held_.append(bytes);
      } else {
        if (verdict != Verdict::Drop && !held_.empty()) RB_TRY(out_(held_));
        held_.clear();
        if (verdict != Verdict::Drop) RB_TRY(out_(bytes));
      }
    }
    pending_.clear();
  }
  return flush();
}

Status TarFilter::finish() {
  if (!held_.empty()) RB_TRY(out_(held_));
  if (!pending_.empty()) RB_TRY(out_(pending_));
  held_.clear();
  pending_.clear();
  return ok();
}

}  // namespace rollback
