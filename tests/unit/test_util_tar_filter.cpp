#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include <rollback/util/archive.hpp>
#include <rollback/util/tar_filter.hpp>

using namespace rollback;

namespace {

// One ustar entry: its header (checksum computed) and its content padded to 512 bytes.
std::string entry(const std::string& name, char type, unsigned mode, const std::string& content = "",
                  const std::string& link = "") {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  auto put = [&](size_t at, const std::string& text) { std::memcpy(h.data() + at, text.data(), text.size()); };
  put(100, fmt::format("{:07o}", mode));
  put(108, "0000000");
  put(116, "0000000");
  put(124, fmt::format("{:011o}", content.size()));
  put(136, "00000000000");
  h[156] = type;
  put(157, link.substr(0, 100));
  put(257, "ustar");
  put(263, "00");
  if (type == '3' || type == '4') {
    put(329, "0000010");  // major 8
    put(337, "0000000");
  }
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  put(148, fmt::format("{:06o}", sum));
  h[154] = '\0';
  std::string padded = content;
  padded.resize((content.size() + 511) / 512 * 512, '\0');
  return h + padded;
}

// A pax extended header for the entry after it.
std::string pax(const std::string& key, const std::string& value) {
  auto body = key + "=" + value + "\n";
  // "<len> body": the length counts its own digits.
  auto len = body.size() + 3;
  auto record = fmt::format("{} {}", len, body);
  if (record.size() != len) record = fmt::format("{} {}", record.size(), body);
  return entry("./PaxHeaders/x", 'x', 0644, record);
}

const std::string kEnd(1024, '\0');

std::string crafted() {
  return entry("data/", '5', 02775) + entry("data/plain.txt", '0', 0644, "hello\n") +
         entry("data/sda", '4', 0666) + entry("data/tty", '3', 0620) + entry("data/pipe", '6', 0644) +
         entry("data/su", '0', 04755, std::string(700, 'x')) + pax("path", std::string(150, 'p') + "/disk") +
         entry("placeholder", '4', 0600) + entry("data/hard-to-sda", '1', 0666, "", "data/sda") +
         entry("data/after.txt", '0', 0600, "after\n") + kEnd;
}

struct Filtered {
  std::string out;
  std::uint64_t dropped = 0, cleared = 0;
};

// Fed in pieces of `chunk` bytes: headers and contents split at every place.
Filtered filter(const std::string& tar, size_t chunk, TarFilterPolicy policy = {}) {
  Filtered f;
  TarFilter filter([&](std::string_view d) { f.out.append(d); return ok(); }, policy);
  for (size_t at = 0; at < tar.size(); at += chunk) REQUIRE(filter.feed(std::string_view(tar).substr(at, chunk)));
  REQUIRE(filter.finish());
  f.dropped = filter.dropped();
  f.cleared = filter.cleared();
  return f;
}

// The (name, type, mode) of each entry of a tar stream, as an extractor sees them.
std::vector<std::string> listing(const std::string& tar) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 512 <= tar.size()) {
    const char* h = tar.data() + at;
    if (h[0] == '\0') break;
    auto size = std::stoull(std::string(h + 124, 11), nullptr, 8);
    auto mode = std::stoul(std::string(h + 100, 7), nullptr, 8);
    out.push_back(fmt::format("{} {} {:o}", std::string(h, strnlen(h, 100)), h[156], mode));
    at += 512 + (h[156] == '0' || h[156] == 'x' ? (size + 511) / 512 * 512 : 0);
  }
  return out;
}

}  // namespace

TEST_CASE("the tar filter drops device nodes, FIFOs, their pax headers and hard links to them, and clears setuid",
          "[util][tar_filter]") {
  auto tar = crafted();
  TarChecker source;
  REQUIRE(source.feed(tar));
  REQUIRE(source.finish());
  CHECK(source.special_entries() == 4);  // sda, tty, pipe, the pax-named block device
  CHECK(source.setid_entries() == 2);    // the setgid dir, the setuid file
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{512}, size_t{1000}, tar.size()}) {
    INFO("fed in pieces of " << chunk);
    auto f = filter(tar, chunk);
    CHECK(f.dropped == 5);  // and the hard link to the dropped sda
    CHECK(f.cleared == 2);
    TarChecker parsed;
    REQUIRE(parsed.feed(f.out));
    REQUIRE(parsed.finish());
    CHECK(parsed.special_entries() == 0);
    CHECK(parsed.setid_entries() == 0);
    CHECK(listing(f.out) == std::vector<std::string>{"data/ 5 775", "data/plain.txt 0 644", "data/su 0 755",
                                                     "data/after.txt 0 600"});
    // Contents pass unchanged: the setuid file's 700 bytes follow its rewritten header.
    CHECK(f.out.find(std::string(700, 'x')) != std::string::npos);
    CHECK(f.out.find("hello\n") != std::string::npos);
    CHECK(f.out.find("after\n") != std::string::npos);
  }
}

TEST_CASE("the tar filter with nothing to drop, or under keep, gives the stream back byte for byte",
          "[util][tar_filter]") {
  auto tar = crafted();
  for (size_t chunk : {size_t{1}, size_t{513}, tar.size()}) {
    auto kept = filter(tar, chunk, {.drop_special = false, .clear_setid = false});
    CHECK(kept.out == tar);
    CHECK(kept.dropped == 0);
    CHECK(kept.cleared == 0);
  }
  auto plain = entry("a", '0', 0644, "a") + pax("path", "long/name") + entry("b", '0', 0600, std::string(2000, 'b')) +
               entry("l", '2', 0777, "", "a") + kEnd + std::string(4096, '\0');
  auto same = filter(plain, 4096);
  CHECK(same.out == plain);
  CHECK(same.dropped == 0);
}

TEST_CASE("the tar filter hands whole spans on: one call for a chunk with nothing to change", "[util][tar_filter]") {
  auto tar = entry("a", '0', 0644, "a") + entry("b", '0', 0600, std::string(2000, 'b')) + kEnd;
  int calls = 0;
  TarFilter filter([&](std::string_view) { ++calls; return ok(); });
  REQUIRE(filter.feed(tar));
  REQUIRE(filter.finish());
  CHECK(calls == 1);
}
