#include <catch2/catch.hpp>

#include <rollback/util/fs.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;

TEST_CASE("a proof stands while the file is unchanged, per proof name, and falls when it changes",
          "[fs]") {
  testing::TempDir dir;
  auto file = dir / "backup.tar.gz";
  testing::write_text(file, "archive bytes");
  CHECK_FALSE(proven_unchanged(file, "tar -tzf"));
  auto token = start_proof(file);
  remember_proof(token, "tar -tzf", "facts");
  CHECK(proven_unchanged(file, "tar -tzf") == std::optional<std::string>("facts"));
  CHECK_FALSE(proven_unchanged(file, "pg.restore format=auto"));  // another proof, not made

  testing::write_text(file, "archive bytes, rewritten");
  CHECK_FALSE(proven_unchanged(file, "tar -tzf"));
}

TEST_CASE("a file that changed while it was being proved is not remembered", "[fs]") {
  testing::TempDir dir;
  auto file = dir / "dump.sql";
  testing::write_text(file, "before");
  auto token = start_proof(file);
  testing::write_text(file, "changed during the read");
  remember_proof(token, "pg.restore format=plain");
  CHECK_FALSE(proven_unchanged(file, "pg.restore format=plain"));
}

// A backup is proved as it is written, then its folder is renamed into place: the files are
// the same files there, and a second read of 1 GiB to prove them again cost every backup.
TEST_CASE("a proof follows its file through a rename of its folder, and never reaches a symbolic link to it",
          "[fs]") {
  testing::TempDir dir;
  auto file = dir / ".incomplete-staging-1" / "data.tar.zst";
  testing::write_text(file, "archive bytes");
  remember_proof(start_proof(file), "archive", "facts");
  std::filesystem::rename(dir / ".incomplete-staging-1", dir / "staging-1");
  CHECK(proven_unchanged(dir / "staging-1" / "data.tar.zst", "archive") == std::optional<std::string>("facts"));
  std::filesystem::create_symlink(dir / "staging-1" / "data.tar.zst", dir / "link.tar.zst");
  CHECK_FALSE(proven_unchanged(dir / "link.tar.zst", "archive"));
}
