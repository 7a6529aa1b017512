// A PostgreSQL data directory in a tar must hold a pg_control that reads (issue 24: a
// backup taken while the cluster initialised verified, and its restore never started).
#include <catch2/catch.hpp>

#include <cstring>

#include <rollback/util/archive.hpp>
#include <rollback/util/pg_control.hpp>

#include "support/tar_builder.hpp"

using namespace rollback;

namespace {

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
  auto tar = testing::tar_of({{"./PG_VERSION", "15\n"}, {"./base/1/PG_VERSION", "15\n"}});
  auto checked = check(tar);
  REQUIRE_FALSE(checked);
  CHECK_THAT(checked.error().message, Catch::Contains("global/pg_control is missing or unreadable"));
  CHECK_THAT(checked.error().message, Catch::Contains("the volume's root"));
}

TEST_CASE("a tar of a data directory with a damaged pg_control is refused", "[pg_control]") {
  auto control = control_file();
  control[10] ^= 0x40;
  auto tar = testing::tar_of({{"./pgdata/PG_VERSION", "15\n"}, {"./pgdata/global/pg_control", control}});
  auto checked = check(tar);
  REQUIRE_FALSE(checked);
  CHECK_THAT(checked.error().message, Catch::Contains("(pgdata)"));
}

TEST_CASE("a tar of a whole data directory passes, and so does one that is no database", "[pg_control]") {
  CHECK(check(testing::tar_of(
      {{"./PG_VERSION", "15\n"}, {"./base/1/PG_VERSION", "15\n"}, {"./global/pg_control", control_file()}})));
  CHECK(check(testing::tar_of({{"./pgdata/global/pg_control", control_file()}, {"./pgdata/PG_VERSION", "15\n"}})));
  CHECK(check(testing::tar_of({{"./base/5/PG_VERSION", "15\n"}, {"./appendonly.aof", "x"}})));
  CHECK(check(testing::tar_of({{"./index.html", "<p>hi</p>"}})));
}
