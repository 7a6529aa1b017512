// Coolify's scheduled database backups as rollback targets, through the binary: a real
// PostgreSQL, real `pg_dump --format=custom` files where Coolify would keep them (under a temp
// dir), their S3 copies on s3rver under Coolify's key (the local path), and the fake Coolify
// listing the executions. `rollback coolify-db --target latest` restores the newest good one,
// from the host's file, then from the S3 copy once the host's file is gone.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <unistd.h>
#include <cstdlib>

#include "git_sql_scene.hpp"
#include "support/fake_coolify.hpp"
#include "support/offsite_servers.hpp"
#include "targets_table.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* kDb = "app-db-uuid";
constexpr const char* kBackup = "backup-uuid";
constexpr const char* kToken = "coolify-token-s3cr3t";

struct CoolifyScene {
  gitsql_test::Database db;
  testing::TempDir tmp;
  testing::FakeCoolify coolify{kToken};
  fs::path backup_dir = tmp / "data/coolify/backups/databases/team-0" / (std::string("app-") + kDb);
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> args;

  CoolifyScene() {
    fs::create_directories(backup_dir);
    db.sql("CREATE TABLE calls (id int PRIMARY KEY, transcript text)");
    env = {{"COOLIFY_TOKEN", kToken}, {"ROLLBACK_RUNTIME_DIR", (tmp / "run").string()}};
  }

  // A dump as Coolify's job writes it (pg-dump-<db>-<timestamp>.dmp, custom format).
  fs::path dump(const std::string& stamp) const {
    auto file = backup_dir / fmt::format("pg-dump-app-{}.dmp", stamp);
    gitsql_test::run_ok({"pg_dump", "--format=custom", "--no-owner", "--no-acl",
                         "--file=" + file.string(), "--dbname=" + db.dsn});
    return file;
  }

  testing::CommandResult rollback(const std::string& remote) const {
    return command({"coolify-db", "--target", "latest", "--yes"}, remote);
  }

  // `args` (a command and the plan, or the plan and its options), then what every call shares.
  testing::CommandResult command(std::vector<std::string> args, const std::string& remote) const {
    std::vector<std::string> common = {"--plans-dir", fmt::format("{}/plans", ROLLBACK_SOURCE_DIR),
                                       "--state-dir", (tmp / "state").string(),
                                       "--var",       "coolify_url=" + coolify.url(),
                                       "--var",       std::string("database=") + kDb,
                                       "--var",       std::string("backup=") + kBackup,
                                       "--var",       "s3_remote=" + remote,
                                       "--var",       "db_dsn=" + db.dsn,
                                       "--var",       "restore_database=yes"};
    args.insert(args.end(), common.begin(), common.end());
    auto r = testing::run_rollback(args, env);
    UNSCOPED_INFO("rollback " << args.front() << " exit " << r.exit_code << "\n" << r.out << r.err);
    return r;
  }
};

testing::FakeExecution execution(std::string uuid, const fs::path& file, std::string at,
                                 std::string status) {
  unsigned long long size = file.empty() ? 0 : fs::file_size(file);
  return {.uuid = std::move(uuid),
          .filename = file.string(),
          .size = size,
          .created_at = std::move(at),
          .status = std::move(status)};
}

}  // namespace

TEST_CASE(
    "coolify-db restores the newest successful Coolify backup from the host then from its S3 copy "
    "once the host lost it",
    "[coolify][pg][offsite][s3]") {
  CoolifyScene scene;
  auto& db = scene.db;
  db.sql("INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(1, 200) g");
  auto older = scene.dump("1700000000");
  db.sql("INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(201, 500) g");
  auto newest = scene.dump("1700086400");
  auto good = db.checksum();
  // The newest run failed (Coolify clears its file name and size); the two before it worked.
  scene.coolify.set_backup(
      kDb, kBackup,
      {execution("exec-older", older, "2026-11-20T03:00:00+00:00", "success"),
       execution("exec-failed", {}, "2026-11-22T03:00:00+00:00", "failed"),
       execution("exec-newest", newest, "2026-11-21T03:00:00+00:00", "success")});

  // Coolify's S3 copies, under its key: the bucket, then the local path.
  auto& s3 = testing::shared_s3_server();
  for (const auto& [k, v] : s3.rclone_env("coolifys3")) scene.env.emplace_back(k, v);
  auto bucket = s3.remote("coolifys3", "");
  for (const auto& file : {older, newest}) {
    std::vector<std::string> copy = {"rclone", "copyto", "--", file.string(),
                                     bucket + "/" + file.string().substr(1)};
    std::vector<std::string> envs = {"env"};
    for (const auto& [k, v] : scene.env) envs.push_back(k + "=" + v);
    copy.insert(copy.begin(), envs.begin(), envs.end());
    gitsql_test::run_ok(copy);
  }

  // The failed run is no target; both good ones verify, read where Coolify wrote them.
  auto listed = scene.command({"targets", "coolify-db", "--json"}, bucket);
  REQUIRE(listed.exit_code == 0);
  auto verdicts = targetstest::json_verdicts(listed.out);
  CHECK(verdicts.size() == 2);
  CHECK(verdicts["exec-newest"]);
  CHECK(verdicts["exec-older"]);
  CHECK_FALSE(verdicts.contains("exec-failed"));

  db.sql("DELETE FROM calls WHERE id > 300");
  db.sql("UPDATE calls SET transcript = '' WHERE id <= 10");
  auto from_host = scene.rollback(bucket);
  REQUIRE(from_host.exit_code == 0);
  CHECK(db.sql("SELECT count(*) FROM calls") == "500");
  CHECK(db.checksum() == good);
  CHECK_THAT(from_host.out, Catch::Contains(newest.string()));
  CHECK_THAT(testing::read_text(testing::report_path_of(from_host.out)),
             Catch::Contains("exec-newest"));
  CHECK_THAT(from_host.out + from_host.err, !Catch::Contains(kToken));

  fs::remove(newest);  // the host lost it: the S3 copy is read
  db.sql("DELETE FROM calls WHERE id > 100");
  auto from_s3 = scene.rollback(bucket);
  REQUIRE(from_s3.exit_code == 0);
  CHECK(db.sql("SELECT count(*) FROM calls") == "500");
  CHECK(db.checksum() == good);
  auto spooled = scene.tmp / "run/coolify-backup" / kBackup / "exec-newest" / newest.filename();
  CHECK(fs::exists(spooled));
  CHECK_THAT(testing::read_text(testing::report_path_of(from_s3.out)),
             Catch::Contains(spooled.string()));
  CHECK_THAT(from_s3.out + from_s3.err, !Catch::Contains(kToken));
}

TEST_CASE(
    "coolify-db skips a Coolify backup whose file was cut short and restores the one before it",
    "[coolify][pg]") {
  CoolifyScene scene;
  auto& db = scene.db;
  db.sql("INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(1, 200) g");
  auto older = scene.dump("1700000000");
  auto older_rows = db.checksum();
  db.sql("INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(201, 500) g");
  auto newest = scene.dump("1700086400");
  auto size = fs::file_size(newest);
  scene.coolify.set_backup(
      kDb, kBackup,
      {execution("exec-older", older, "2026-11-20T03:00:00+00:00", "success"),
       execution("exec-newest", newest, "2026-11-21T03:00:00+00:00", "success")});
  fs::resize_file(newest, size / 2);  // a disk that filled while Coolify wrote it
  db.sql("DELETE FROM calls WHERE id > 50");

  auto run = scene.rollback("");
  REQUIRE(run.exit_code == 0);
  CHECK(db.sql("SELECT count(*) FROM calls") == "200");
  CHECK(db.checksum() == older_rows);
  CHECK_THAT(run.out + run.err, Catch::Contains("exec-newest"));
}

TEST_CASE(
    "a gzipped pg_dumpall backup of Coolify verifies as a target but pg.restore refuses it at "
    "preflight and the database is untouched",
    "[coolify][pg]") {
  CoolifyScene scene;
  auto& db = scene.db;
  db.sql("INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(1, 200) g");
  // Coolify's "backup all databases": pg_dumpall's SQL, gzipped (the globals keep it small here).
  auto sql = scene.backup_dir / "pg-dump-all-1700000000";
  gitsql_test::run_ok(
      {"pg_dumpall", "--globals-only", "--file=" + sql.string(), "--dbname=" + db.admin_dsn});
  gitsql_test::run_ok({"gzip", "-S", ".gz", "--", sql.string()});
  auto all = fs::path(sql.string() + ".gz");
  scene.coolify.set_backup(kDb, kBackup,
                           {execution("exec-all", all, "2026-11-21T03:00:00+00:00", "success")});
  db.sql("DELETE FROM calls WHERE id > 50");
  auto rows = db.checksum();

  auto run = scene.rollback("");
  CHECK(run.exit_code == 4);
  CHECK_THAT(run.out + run.err,
             Catch::Contains("pg_dumpall") && Catch::Contains("nothing was changed"));
  CHECK(db.checksum() == rows);
}
