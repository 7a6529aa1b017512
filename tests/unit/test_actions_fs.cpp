#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "support/action_harness.hpp"
#include "support/tar_builder.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

TEST_CASE("fs.copy puts a file back and refuses a missing source before writing", "[actions][fs]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  write_text(dir / "backup/docker-compose.yml", "version: good\n");
  write_text(dir / "live/docker-compose.yml", "version: broken\n");

  auto copied = h.run("fs.copy", {{"from", (dir / "backup/docker-compose.yml").string()},
                                  {"to", (dir / "live/").string()}});
  REQUIRE(copied.ok);
  CHECK(read_text(dir / "live/docker-compose.yml") == "version: good\n");

  auto missing = h.preflight("fs.copy", {{"from", (dir / "backup/nope.env").string()},
                                         {"to", (dir / "live/.env").string()}});
  CHECK_FALSE(missing.ok);
  CHECK_THAT(missing.message, Catch::Contains("nope.env does not exist"));
  CHECK_FALSE(fs::exists(dir / "live/.env"));
}

TEST_CASE("fs.copy with contents copies a directory's entries into another", "[actions][fs]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  write_text(dir / "stable/docker-compose.yml", "a");
  write_text(dir / "stable/.env.staging", "b");
  auto copied = h.run("fs.copy", {{"from", (dir / "stable").string()}, {"to", (dir / "live").string()},
                                  {"contents", true}});
  REQUIRE(copied.ok);
  CHECK(read_text(dir / "live/docker-compose.yml") == "a");
  CHECK(read_text(dir / "live/.env.staging") == "b");
}

TEST_CASE("fs.latest picks the newest match like ls -t | head -1", "[actions][fs]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  write_text(dir / "staging-20250101-000000/x", "old");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_text(dir / "staging-20250102-000000/x", "new");
  fs::last_write_time(dir / "staging-20250101-000000", fs::file_time_type::clock::now() - std::chrono::hours(1));
  auto found = h.run("fs.latest", {{"glob", (dir / "staging-*").string()}, {"into", "latest"}});
  REQUIRE(found.ok);
  CHECK(h.vars["latest"] == (dir / "staging-20250102-000000").string());

  auto none = h.run("fs.latest", {{"glob", (dir / "nothing-*").string()}, {"into", "latest"}});
  CHECK_FALSE(none.ok);
  CHECK_THAT(none.message, Catch::Contains("nothing matches"));
}

TEST_CASE("fs.checksum writes SHA256SUMS and verification catches a tampered file", "[actions][fs]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  testing::write_archive(dir / "b/postgres_data.tar.gz", {{"records.txt", "archive bytes"}});
  write_text(dir / "b/sub/.env", "KEY=1\n");
  REQUIRE(h.run("fs.checksum", {{"dir", (dir / "b").string()}, {"mode", "write"}}).ok);
  CHECK_THAT(read_text(dir / "b/SHA256SUMS"), Catch::Contains("  sub/.env"));
  CHECK(h.run("fs.checksum", {{"dir", (dir / "b").string()}, {"mode", "verify"}}).ok);

  write_text(dir / "b/postgres_data.tar.gz", "archive bytes, truncated");
  auto bad = h.preflight("fs.checksum", {{"dir", (dir / "b").string()}, {"mode", "verify"}});
  CHECK_FALSE(bad.ok);
  CHECK_THAT(bad.message, Catch::Contains("postgres_data.tar.gz: checksum differs"));
}

TEST_CASE("fs.remove treats an absent path as done unless must_exist", "[actions][fs]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  write_text(dir / "old/file", "x");
  CHECK(h.run("fs.remove", {{"path", (dir / "old").string()}}).ok);
  CHECK_FALSE(fs::exists(dir / "old"));
  CHECK(h.run("fs.remove", {{"path", (dir / "old").string()}}).ok);
  CHECK_FALSE(h.run("fs.remove", {{"path", (dir / "old").string()}, {"must_exist", true}}).ok);
}

TEST_CASE("fs.latest captures a part of the newest match's name into a second var", "[actions][fs]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  std::string commit(40, 'c');
  write_text(dir / ("pre-deploy-20250127-180000-" + commit + ".dump"), "dump");
  auto found = h.run("fs.latest", {{"glob", (dir / "pre-deploy-*.dump").string()},
                                   {"into", "newest"},
                                   {"capture", "-([0-9a-f]{40})\\.dump$"},
                                   {"capture_into", "deployed"}});
  REQUIRE(found.ok);
  CHECK(h.vars["deployed"] == commit);
  auto unmatched = h.run("fs.latest", {{"glob", (dir / "pre-deploy-*.dump").string()},
                                       {"into", "newest"},
                                       {"capture", "-([0-9]{3})\\.dump$"},
                                       {"capture_into", "deployed"}});
  CHECK_FALSE(unmatched.ok);
  CHECK_THAT(unmatched.message, Catch::Contains("does not match capture"));
}

namespace {

unsigned mode_of(const fs::path& path) { return static_cast<unsigned>(fs::status(path).permissions() & fs::perms::mask); }

}  // namespace

TEST_CASE("fs.mkdir creates owner-only dirs, parents included, and leaves an existing dir's mode alone",
          "[actions][fs][modes]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  fs::create_directories(dir / "existing");
  fs::permissions(dir / "existing", static_cast<fs::perms>(0755));
  REQUIRE(h.run("fs.mkdir", {{"path", (dir / "existing/backups/staging-1").string()}}).ok);
  CHECK(mode_of(dir / "existing") == 0755);
  CHECK(mode_of(dir / "existing/backups") == 0700);
  CHECK(mode_of(dir / "existing/backups/staging-1") == 0700);

  REQUIRE(h.run("fs.mkdir", {{"path", (dir / "www").string()}, {"mode", "0755"}}).ok);
  CHECK(mode_of(dir / "www") == 0755);
  auto bad = h.run("fs.mkdir", {{"path", (dir / "x").string()}, {"mode", "rwx"}});
  CHECK_FALSE(bad.ok);
  CHECK_THAT(bad.message, Catch::Contains("not octal permissions"));
}

TEST_CASE("fs.copy writes owner-only copies: the source's owner bits, group and other removed", "[actions][fs][modes]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  write_text(dir / "stack/.env.staging", "DB_PASSWORD=x\n");
  fs::permissions(dir / "stack/.env.staging", static_cast<fs::perms>(0644));
  write_text(dir / "stack/run.sh", "#!/bin/sh\n");
  fs::permissions(dir / "stack/run.sh", static_cast<fs::perms>(0755));
  REQUIRE(h.run("fs.copy", {{"from", (dir / "stack/.env.staging").string()}, {"to", (dir / "backup/new/.env").string()}}).ok);
  CHECK(mode_of(dir / "backup/new/.env") == 0600);
  CHECK(mode_of(dir / "backup") == 0700);  // the parents it made, too
  CHECK(mode_of(dir / "backup/new") == 0700);
  REQUIRE(h.run("fs.copy", {{"from", (dir / "stack").string()}, {"to", (dir / "tree").string()}}).ok);
  CHECK(mode_of(dir / "tree") == 0700);
  CHECK(mode_of(dir / "tree/run.sh") == 0700);
  CHECK(mode_of(dir / "tree/.env.staging") == 0600);
}

TEST_CASE("fs.copy with mode gives the copies that mode and their new dirs the matching one", "[actions][fs][modes]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  write_text(dir / "backup/docker-compose.yml", "services: {}\n");
  fs::permissions(dir / "backup/docker-compose.yml", static_cast<fs::perms>(0600));
  REQUIRE(h.run("fs.copy", {{"from", (dir / "backup").string()}, {"to", (dir / "live").string()}, {"mode", "0640"}}).ok);
  CHECK(mode_of(dir / "live/docker-compose.yml") == 0640);
  CHECK(mode_of(dir / "live") == 0750);
  REQUIRE(h.run("fs.copy", {{"from", (dir / "backup/docker-compose.yml").string()}, {"to", (dir / "live/").string()},
                            {"mode", "644"}})
              .ok);
  CHECK(mode_of(dir / "live/docker-compose.yml") == 0644);
  auto bad = h.run("fs.copy", {{"from", (dir / "backup").string()}, {"to", (dir / "x").string()}, {"mode", "4755"}});
  CHECK_FALSE(bad.ok);
  CHECK_FALSE(fs::exists(dir / "x"));
}

TEST_CASE("fs.checksum writes its SHA256SUMS owner-only", "[actions][fs][modes]") {
  testing::TempDir dir;
  testing::ActionHarness h;
  write_text(dir / "b/data", "x");
  REQUIRE(h.run("fs.checksum", {{"dir", (dir / "b").string()}, {"mode", "write"}}).ok);
  CHECK(mode_of(dir / "b/SHA256SUMS") == 0600);
}
