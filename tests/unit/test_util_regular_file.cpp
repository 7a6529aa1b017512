// Verification reads only regular files (util/regular_file.hpp): a symlink (to /dev/zero, or
// out of the folder), a FIFO, a device or a directory is refused at once, never read.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include <rollback/util/archive.hpp>
#include <rollback/util/checksums.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/regular_file.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;
namespace fs = std::filesystem;

TEST_CASE("open_regular_inside opens a regular file inside the folder and refuses everything else",
          "[util][regular]") {
  testing::TempDir tmp;
  auto target = tmp / "target";
  fs::create_directories(target / "sub");
  testing::write_text(target / "data.txt", "data\n");
  testing::write_text(tmp / "outside.txt", "secret\n");
  fs::create_symlink("/dev/zero", target / "zero");
  fs::create_symlink(target / "data.txt", target / "link-inside");
  REQUIRE(::mkfifo((target / "pipe").c_str(), 0600) == 0);
  fs::create_directory_symlink(tmp.path(), target / "up");  // a dir symlink leading out

  CHECK(open_regular_inside(target, "data.txt"));
  auto started = std::chrono::steady_clock::now();
  for (const auto& [name, why] : {std::pair{"zero", "not a regular file (a symbolic link)"},
                                  std::pair{"link-inside", "not a regular file (a symbolic link)"},
                                  std::pair{"pipe", "not a regular file (a FIFO)"},
                                  std::pair{"sub", "not a regular file (a directory)"},
                                  std::pair{"up/outside.txt", "not a regular file inside"},
                                  std::pair{"../outside.txt", "not a regular file inside"},
                                  std::pair{"/etc/hostname", "not a regular file inside"}}) {
    auto opened = open_regular_inside(target, name);
    INFO(name);
    REQUIRE_FALSE(opened);
    CHECK_THAT(opened.error().message, Catch::Contains(why));
  }
  CHECK(std::chrono::steady_clock::now() - started <
        std::chrono::seconds(2));  // the FIFO did not block
  CHECK(*read_regular_inside(target, "data.txt") == "data\n");
  CHECK_FALSE(read_regular_inside(target, "data.txt", 3));  // larger than asked for
}

TEST_CASE("hashing, proving an archive and fs.checksum's verification refuse a FIFO or a device at once",
          "[util][regular]") {
  testing::TempDir tmp;
  REQUIRE(::mkfifo((tmp / "pipe.tar.zst").c_str(), 0600) == 0);
  for (const fs::path& path : {tmp / "pipe.tar.zst", fs::path("/dev/zero")}) {
    auto sum = sha256_file(path);
    REQUIRE_FALSE(sum);
    CHECK_THAT(sum.error().message, Catch::Contains("not a regular file"));
    auto proved = prove_archive(path);
    REQUIRE_FALSE(proved);
    CHECK_THAT(proved.error().message, Catch::Contains("not a regular file"));
  }
  testing::write_text(tmp / "SHA256SUMS", std::string(64, '0') + "  pipe.tar.zst\n");
  auto problems = verify_sha256sums(tmp.path());
  REQUIRE(problems);
  REQUIRE(problems->size() == 1);
  CHECK(problems->front() == "pipe.tar.zst: not a regular file (a FIFO)");
}
