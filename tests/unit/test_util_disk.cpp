#include <catch2/catch.hpp>

#include <rollback/util/disk.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;

TEST_CASE("a backup needs its size, 10% more and 16MB", "[disk]") {
  CHECK(space_needed(0) == 16u << 20);
  CHECK(space_needed(1000u << 20) == (1000u << 20) + (100u << 20) + (16u << 20));
  CHECK(human_size(12) == "12B");
  CHECK(human_size(1536) == "1.5KB");
  CHECK(human_size(3ull << 30) == "3.0GB");
}

TEST_CASE("check_room passes with room, and names the directory and the numbers without", "[disk]") {
  testing::TempDir dir;
  auto free = free_space(dir / "not" / "made" / "yet");  // the nearest existing parent counts
  REQUIRE(free);
  REQUIRE(*free > (32u << 20));
  CHECK(check_room(dir.path(), 1024, "a test archive"));
  auto refused = check_room(dir.path(), *free, "a test archive");
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message,
             Catch::StartsWith("not enough free space in " + dir.path().string() + " for a test archive: it needs "));
  CHECK_THAT(refused.error().message, Catch::Contains("free; free some space or write the backup elsewhere"));
}

TEST_CASE("disk free space is a percentage and a missing path is an error", "[util]") {
  testing::TempDir dir;
  auto free = disk_free_percent(dir.path());
  REQUIRE(free);
  CHECK(*free >= 0);
  CHECK(*free <= 100);
  auto missing = disk_free_percent(dir / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("nope: cannot read free space") != std::string::npos);
}
