// A PostgreSQL data directory in a tar must hold a pg_control that reads (issue 24: a
// backup taken while the cluster initialised verified, and its restore never started).
#include <catch2/catch.hpp>

#include <cstring>

#include <fmt/format.h>

#include <rollback/util/archive.hpp>
#include <rollback/util/pg_control.hpp>

using namespace rollback;

namespace {

std::string entry(const std::string& name, const std::string& content, char type = '0') {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  auto put = [&](size_t at, const std::string& text) { std::memcpy(h.data() + at, text.data(), text.size()); };
  put(100, "0000600");
  put(108, "0000000");
  put(116, "0000000");
  put(124, fmt::format("{:011o}", content.size()));
  put(136, "00000000000");
  h[156] = type;
  put(257, "ustar");
  put(263, "00");
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  put(148, fmt::format("{:06o}", sum));
  h[154] = '\0';
  std::string padded = content;
  padded.resize((content.size() + 511) / 512 * 512, '\0');
  return h + padded;
}

// A control file as PostgreSQL writes one: a record, its CRC-32C right after, zeros to 8 KiB.
std::string control_file(size_t record_bytes = 296) {
  std::string file(8192, '\0');
  for (size_t i = 0; i < record_bytes; ++i) file[i] = static_cast<char>(i * 7 + 3);
  std::uint32_t crc = crc32c(std::string_view(file).substr(0, record_bytes));
  std::memcpy(file.data() + record_bytes, &crc, 4);
  return file;
}

Status check(const std::string& tar) {
  TarChecker checker;
  RB_TRY(checker.feed(tar));
  return checker.finish();
}

const std::string kEnd(1024, '\0');

}  // namespace

TEST_CASE("crc32c matches the standard check value", "[pg_control]") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
}

TEST_CASE("a control file whose CRC matches reads, whatever the version's record size", "[pg_control]") {
  CHECK(pg_control_reads(control_file(296)));
  CHECK(pg_control_reads(control_file(248)));
  auto damaged = control_file();
  damaged[40] ^= 1;
  CHECK_FALSE(pg_control_reads(damaged));
  CHECK_FALSE(pg_control_reads(std::string(8192, '\0')));
  CHECK_FALSE(pg_control_reads(""));
}

TEST_CASE("a tar of a data directory without global/pg_control is refused", "[pg_control]") {
  auto tar = entry("./", "", '5') + entry("./PG_VERSION", "15\n") + entry("./base/1/PG_VERSION", "15\n") + kEnd;
  auto checked = check(tar);
  REQUIRE_FALSE(checked);
  CHECK_THAT(checked.error().message, Catch::Contains("global/pg_control is missing or unreadable"));
  CHECK_THAT(checked.error().message, Catch::Contains("the volume's root"));
}

TEST_CASE("a tar of a data directory with a damaged pg_control is refused", "[pg_control]") {
  auto control = control_file();
  control[10] ^= 0x40;
  auto tar = entry("./pgdata/PG_VERSION", "15\n") + entry("./pgdata/global/pg_control", control) + kEnd;
  auto checked = check(tar);
  REQUIRE_FALSE(checked);
  CHECK_THAT(checked.error().message, Catch::Contains("(pgdata)"));
}

TEST_CASE("a tar of a whole data directory passes, and so does one that is no database", "[pg_control]") {
  CHECK(check(entry("./PG_VERSION", "15\n") + entry("./base/1/PG_VERSION", "15\n") +
              entry("./global/pg_control", control_file()) + kEnd));
  CHECK(check(entry("./pgdata/global/pg_control", control_file()) + entry("./pgdata/PG_VERSION", "15\n") + kEnd));
  CHECK(check(entry("./base/5/PG_VERSION", "15\n") + entry("./appendonly.aof", "x") + kEnd));
  CHECK(check(entry("./index.html", "<p>hi</p>") + kEnd));
}
