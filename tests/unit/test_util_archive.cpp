#include <catch2/catch.hpp>

#include <rollback/util/archive.hpp>
#include <rollback/util/fs.hpp>

#include "support/tar_builder.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;

namespace {

// Incompressible content: every stored byte then carries data, so a flipped one changes
// what comes out (in a stream of repeats, deflate may leave a flip without effect).
std::string noise(size_t n) {
  std::string out(n, '\0');
  unsigned x = 2463534242u;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

const std::vector<std::pair<std::string, std::string>> kFiles = {
    {"records.txt", "paciente-001 cita 2025-01-27\n"}, {"db/base.bin", noise(300000)}, {"empty", ""}};

std::string tar_read_back(const std::filesystem::path& path) {
  std::string out;
  auto facts = read_archive(path, [&](std::string_view d) {
    out.append(d);
    return ok();
  });
  REQUIRE(facts);
  return out;
}

}  // namespace

TEST_CASE("archives round-trip through zstd, gzip and plain tar, their format read from the magic bytes",
          "[util][archive]") {
  testing::TempDir dir;
  for (const char* name : {"a.tar.zst", "a.tar.gz", "a.tgz", "a.tar"}) {
    INFO(name);
    testing::write_archive(dir / name, kFiles);
    auto facts = read_archive(dir / name);
    REQUIRE(facts);
    CHECK(facts->compression == *compression_from_name(name));
    CHECK(facts->entries == 3);
    CHECK(facts->sha256 == *sha256_file(dir / name));
    CHECK(tar_read_back(dir / name) == testing::tar_of(kFiles));
  }
  // Named .tar.gz but written as zstd: the bytes decide, never the name.
  testing::write_archive(dir / "zstd.tar.zst", kFiles);
  std::filesystem::copy_file(dir / "zstd.tar.zst", dir / "misnamed.tar.gz");
  CHECK(read_archive(dir / "misnamed.tar.gz")->compression == Compression::Zstd);
}

TEST_CASE("a truncated or bit-flipped archive is refused, whatever its compression", "[util][archive]") {
  testing::TempDir dir;
  for (const char* name : {"a.tar.zst", "a.tar.gz", "a.tar"}) {
    INFO(name);
    testing::write_archive(dir / name, kFiles);
    auto whole = testing::read_text(dir / name);
    testing::write_text(dir / "cut", whole.substr(0, whole.size() * 2 / 3));
    CHECK_FALSE(read_archive(dir / "cut"));
    if (std::string(name) == "a.tar") continue;  // no checksum inside a plain tar's contents
    auto flipped = whole;
    flipped[flipped.size() / 2] ^= 0x01;
    testing::write_text(dir / "flipped", flipped);
    CHECK_FALSE(read_archive(dir / "flipped"));
  }
  testing::write_text(dir / "text.tar.gz", "not an archive");
  auto refused = read_archive(dir / "text.tar.gz");
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("is not a tar archive"));
}

TEST_CASE("a proof of an archive stands while the file is unchanged and serves its sha256 too", "[util][archive]") {
  testing::TempDir dir;
  testing::write_archive(dir / "a.tar.zst", kFiles);
  CHECK_FALSE(proven_archive(dir / "a.tar.zst"));
  auto proved = prove_archive(dir / "a.tar.zst");
  REQUIRE(proved);
  CHECK(proven_archive(dir / "a.tar.zst"));
  CHECK(proven_unchanged(dir / "a.tar.zst", "sha256") == proved->sha256);
  testing::write_archive(dir / "a.tar.zst", {{"other", "x"}});
  CHECK_FALSE(proven_archive(dir / "a.tar.zst"));
}

TEST_CASE("the tar checker refuses a damaged header and a stream without its end marker", "[util][archive]") {
  auto tar = testing::tar_of(kFiles);
  TarChecker whole;
  REQUIRE(whole.feed(tar));
  CHECK(whole.finish());
  CHECK(whole.ended());
  auto damaged = tar;
  damaged[10] ^= 0x20;  // a byte of the first header's name
  TarChecker bad;
  CHECK_FALSE(bad.feed(damaged));
  TarChecker short_one;
  REQUIRE(short_one.feed(std::string_view(tar).substr(0, tar.size() - 1024)));
  CHECK_FALSE(short_one.finish());
}

TEST_CASE("archive names: the name chooses a new archive's format and any supported one is found", "[util][archive]") {
  CHECK(compression_from_name("x.tar.zst") == Compression::Zstd);
  CHECK(compression_from_name("x.tgz") == Compression::Gzip);
  CHECK(compression_from_name("x.tar") == Compression::None);
  CHECK_FALSE(compression_from_name("x.zip"));
  CHECK(archive_name_candidates("data.tar.gz") ==
        std::vector<std::string>{"data.tar.gz", "data.tar.zst", "data.tzst", "data.tgz", "data.tar"});
}
