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
  std::string db_dsn;  // where the plan restores ("": db)

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
                                       "--var",       "db_dsn=" + (db_dsn.empty() ? db.dsn : db_dsn),
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

namespace {

// A PostgreSQL server of the test's own (scripts/lib/pg-cluster): a pg_dumpall script replaces
// every database of its server, so it is never restored into the one other tests share.
struct PrivateCluster {
  testing::TempDir dir;
  std::string admin_dsn;
  PrivateCluster() {
    auto script = fmt::format("{}/scripts/lib/pg-cluster", ROLLBACK_SOURCE_DIR);
    // The server runs as `postgres`: it must reach its folder (traverse, not list).
    fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    auto started = testing::run_program({script, "start", (dir / "pg").string()});
    INFO(started.err);
    REQUIRE(started.exit_code == 0);
    auto at = started.out.find("ROLLBACK_TEST_PG_DSN=");
    REQUIRE(at != std::string::npos);
    admin_dsn = started.out.substr(at + 21, started.out.find_first_of(" \n", at) - at - 21);
  }
  ~PrivateCluster() {
    testing::run_program({fmt::format("{}/scripts/lib/pg-cluster", ROLLBACK_SOURCE_DIR), "stop", (dir / "pg").string()});
  }
  std::string dsn(const std::string& database) const {
    return admin_dsn.substr(0, admin_dsn.rfind('/') + 1) + database;
  }
  std::string sql(const std::string& database, const std::string& text) const {
    return gitsql_test::Database::psql(dsn(database), text);
  }
};

}  // namespace

TEST_CASE(
    "a gzipped pg_dumpall backup of Coolify is restored over the live server: its databases "
    "replaced and its roles as they were",
    "[coolify][pg]") {
  CoolifyScene scene;
  PrivateCluster server;
  server.sql("postgres", "CREATE ROLE appuser LOGIN");
  server.sql("postgres", "CREATE DATABASE app OWNER appuser");
  server.sql("app", "CREATE TABLE calls (id int PRIMARY KEY, transcript text)");
  server.sql("app", "INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(1, 200) g");
  server.sql("postgres", "CREATE TABLE settings (k text PRIMARY KEY, v text)");
  server.sql("postgres", "INSERT INTO settings VALUES ('mode', 'stable')");
  auto good = server.sql("app", "SELECT md5(string_agg(id || transcript, ',' ORDER BY id)) FROM calls");
  // Coolify's "backup all databases": pg_dumpall's SQL, gzipped, without --clean.
  auto sql = scene.backup_dir / "pg-dump-all-1700000000";
  gitsql_test::run_ok({"pg_dumpall", "--file=" + sql.string(), "--dbname=" + server.admin_dsn});
  gitsql_test::run_ok({"gzip", "-S", ".gz", "--", sql.string()});
  auto all = fs::path(sql.string() + ".gz");
  scene.coolify.set_backup(kDb, kBackup, {execution("exec-all", all, "2026-11-21T03:00:00+00:00", "success")});

  // The bad deploy: rows gone, a table added, the postgres database changed, a role altered.
  server.sql("app", "DELETE FROM calls WHERE id > 50");
  server.sql("app", "CREATE TABLE migration_v2 (id int)");
  server.sql("postgres", "UPDATE settings SET v = 'broken'");
  server.sql("postgres", "ALTER ROLE appuser NOLOGIN");

  scene.db_dsn = server.dsn("app");
  auto run = scene.command({"coolify-db", "--target", "latest", "--yes"}, "");
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("(pg_dumpall)") && Catch::Contains("2 base(s) de datos reemplazada(s)"));
  CHECK(server.sql("app", "SELECT count(*) FROM calls") == "200");
  CHECK(server.sql("app", "SELECT md5(string_agg(id || transcript, ',' ORDER BY id)) FROM calls") == good);
  CHECK(server.sql("app", "SELECT count(*) FROM pg_tables WHERE tablename = 'migration_v2'") == "0");
  CHECK(server.sql("postgres", "SELECT v FROM settings") == "stable");
  CHECK(server.sql("postgres", "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'appuser'") == "t");
  CHECK(server.sql("postgres", "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'") ==
        "appuser");
  // The rewritten script does not outlive the run.
  bool left = false;
  if (fs::exists(scene.tmp / "run"))
    for (const auto& e : fs::directory_iterator(scene.tmp / "run"))
      left |= e.path().filename().string().starts_with("pg-cluster");
  CHECK_FALSE(left);
}
