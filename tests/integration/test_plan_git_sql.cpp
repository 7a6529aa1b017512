// The Asistente Andrea manual path end to end, through the binary: backup-git-sql before a
// deploy, a bad deploy (new commit pushed + damaged rows), then git-sql puts back both code
// and data (field lesson 1) with real git, a real PostgreSQL cluster and an HTTP /health.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

#include "git_sql_scene.hpp"
#include "support/http_servers.hpp"
#include "targets_table.hpp"

namespace fs = std::filesystem;

using namespace gitsql_test;

TEST_CASE("git-sql restores the stable commit on origin and the pre-deploy data, and reports both",
          "[plans][git][pg]") {
  Scene scene;
  auto& db = scene.db;
  auto& deploys = scene.deploys;
  auto server = testing::HttpServer::json(R"({"version":"3","status":"ok"})");
  REQUIRE(scene.rollback("backup-git-sql", {"--yes"}).exit_code == 0);
  scene.bad_deploy();

  auto run = scene.rollback("git-sql", {"--target", "previous", "--yes", "--reason", "migración destructiva", "--var",
                                        "app_url=" + server->url(""), "--var", "expected_version=3"});
  REQUIRE(run.exit_code == 0);

  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == deploys[2]);
  CHECK(git(scene.work, {"rev-parse", "HEAD"}) == deploys[2]);
  CHECK(db.sql("SELECT count(*) FROM calls") == "500");
  CHECK(db.checksum() == scene.good_checksum);

  auto report_path = testing::report_path_of(run.out);
  auto report = testing::read_text(report_path);
  CHECK_THAT(report, Catch::Contains("REPORTE DE ROLLBACK"));
  CHECK_THAT(report, Catch::Contains(deploys[2].substr(0, 7)));  // restored to
  CHECK_THAT(report, Catch::Contains("deploy 4"));                // rolled back from (subject)
  CHECK_THAT(report, Catch::Contains("500"));                     // row count after
  CHECK_THAT(report, Catch::Contains("migración destructiva"));
}

TEST_CASE("an empty dump stops git-sql with exit 4 before git or the database is touched", "[plans][git][pg]") {
  Scene scene;
  auto server = testing::HttpServer::json(R"({"version":"3","status":"ok"})");
  REQUIRE(scene.rollback("backup-git-sql", {"--yes"}).exit_code == 0);
  scene.bad_deploy();
  auto origin_head = git(scene.origin, {"rev-parse", "refs/heads/main"});
  auto rows = scene.db.checksum();
  size_t emptied = 0;
  for (const auto& e : fs::recursive_directory_iterator(scene.backups)) {
    auto name = e.path().filename().string();
    if (e.is_regular_file() && (name.ends_with(".sql") || name.ends_with(".dump") || name.ends_with(".sql.gz"))) {
      fs::resize_file(e.path(), 0);
      ++emptied;
    }
  }
  REQUIRE(emptied > 0);

  auto run = scene.rollback("git-sql", {"--target", "previous", "--yes", "--var", "app_url=" + server->url(""),
                                        "--var", "expected_version=3"});
  CHECK(run.exit_code == 4);
  CHECK_THAT(run.out + run.err, Catch::Contains("empty"));
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == origin_head);
  CHECK(scene.db.checksum() == rows);
}

TEST_CASE("git-sql refuses with exit 4, naming it, when origin holds a colleague's hotfix the deployed clone lacks",
          "[plans][git][pg]") {
  Scene scene;
  auto server = testing::HttpServer::json(R"({"version":"3","status":"ok"})");
  REQUIRE(scene.rollback("backup-git-sql", {"--yes"}).exit_code == 0);
  scene.bad_deploy();
  // Someone else pushes c6-hotfix on top of the bad deploy; our clone has not seen it.
  auto other = scene.tmp / "other";
  git(scene.tmp.path(), {"clone", "--quiet", scene.origin.string(), other.string()});
  git(other, {"config", "user.name", "Colleague"});
  git(other, {"config", "user.email", "colleague@example.invalid"});
  testing::write_text(other / "hotfix.txt", "fix\n");
  git(other, {"add", "hotfix.txt"});
  git(other, {"commit", "--quiet", "-m", "c6-hotfix"});
  git(other, {"push", "--quiet", "origin", "main"});
  auto hotfix = git(other, {"rev-parse", "HEAD"});
  auto rows = scene.db.checksum();

  auto run = scene.rollback("git-sql", {"--target", "previous", "--yes", "--var", "app_url=" + server->url("")});
  CHECK(run.exit_code == 4);
  CHECK_THAT(run.out + run.err, Catch::Contains("c6-hotfix") && Catch::Contains("mode: revert"));
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == hotfix);  // still there
  CHECK(scene.db.checksum() == rows);                                    // nothing restored
}

TEST_CASE("git-sql restores the dump backup-git-sql recorded for the target commit, not the newest one, and targets "
          "shows which commits have one",
          "[plans][git][pg]") {
  Scene scene;
  auto& db = scene.db;
  auto& deploys = scene.deploys;
  db.sql("DELETE FROM calls WHERE id > 100");  // the data while deploy 1 ran
  scene.backup_at(deploys[0]);
  db.sql("INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(101, 500) g");
  scene.backup_at(deploys[2]);
  scene.bad_deploy();

  auto listed = scene.command("targets", "git-sql", {});
  REQUIRE(listed.exit_code == 0);
  CHECK(targetstest::verdict(listed.out, deploys[0].substr(0, 12)) == "yes");
  CHECK(targetstest::verdict(listed.out, deploys[1].substr(0, 12)) == "NO");
  CHECK_THAT(targetstest::row(listed.out, deploys[1].substr(0, 12)), Catch::Contains("nothing matches") &&
                                                                         Catch::Contains(deploys[1] + ".dump"));
  CHECK(targetstest::verdict(listed.out, deploys[2].substr(0, 12)) == "yes");
  auto json = targetstest::json_verdicts(scene.command("targets", "git-sql", {"--json"}).out);
  CHECK(json[deploys[0].substr(0, 12)]);
  CHECK_FALSE(json[deploys[1].substr(0, 12)]);

  auto server = testing::HttpServer::json(R"({"version":"1","status":"ok"})");
  auto run = scene.rollback("git-sql", {"--target", deploys[0].substr(0, 12), "--yes", "--var",
                                        "app_url=" + server->url("")});
  REQUIRE(run.exit_code == 0);
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == deploys[0]);
  CHECK(db.sql("SELECT count(*) FROM calls") == "100");  // deploy 1's data, not the newest dump's
  CHECK_THAT(run.out, Catch::Contains(deploys[0] + ".dump"));
}

TEST_CASE("git-sql refuses a target commit without a recorded dump with exit 4 and nothing changed, unless --var dump= "
          "names one",
          "[plans][git][pg]") {
  Scene scene;
  scene.backup_at(scene.deploys[2]);
  scene.bad_deploy();
  auto origin_head = git(scene.origin, {"rev-parse", "refs/heads/main"});
  auto rows = scene.db.checksum();
  auto server = testing::HttpServer::json(R"({"version":"2","status":"ok"})");
  std::vector<std::string> args{"--target", scene.deploys[1].substr(0, 12), "--yes", "--var", "app_url=" + server->url("")};

  auto refused = scene.rollback("git-sql", args);
  CHECK(refused.exit_code == 4);
  CHECK_THAT(refused.err, Catch::Contains("nothing matches") && Catch::Contains(scene.deploys[1] + ".dump"));
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == origin_head);
  CHECK(scene.db.checksum() == rows);

  fs::path dump;
  for (const auto& e : fs::directory_iterator(scene.backups))  // the dump, not its .sha256 sidecar
    if (e.path().extension() == ".dump") dump = e.path();
  REQUIRE_FALSE(dump.empty());
  args.insert(args.end(), {"--var", "dump=" + dump.string()});
  auto explicit_dump = scene.rollback("git-sql", args);
  CHECK(explicit_dump.exit_code == 0);
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == scene.deploys[1]);
  CHECK(scene.db.checksum() == scene.good_checksum);
}

TEST_CASE("rehearse git-sql restores the target's dump into a scratch database and resets a local clone: origin, the "
          "work tree and the database stay as they are, and the scratch database is dropped",
          "[plans][git][pg][rehearse]") {
  Scene scene;
  scene.backup_at(scene.deploys[2]);
  scene.bad_deploy();
  auto origin_head = git(scene.origin, {"rev-parse", "refs/heads/main"});
  auto work_head = git(scene.work, {"rev-parse", "HEAD"});
  auto rows = scene.db.checksum();
  auto server = testing::HttpServer::json(R"({"version":"3","status":"ok"})");

  auto rehearsed = scene.command("rehearse", "git-sql", {"--target", scene.deploys[2].substr(0, 12), "--var",
                                                         "app_url=" + server->url("")});
  CHECK(rehearsed.exit_code == 0);
  CHECK_THAT(rehearsed.out, Catch::Contains("el ensayo probó el objetivo"));  // git-sql.yaml speaks Spanish
  CHECK(git(scene.origin, {"rev-parse", "refs/heads/main"}) == origin_head);
  CHECK(git(scene.work, {"rev-parse", "HEAD"}) == work_head);
  CHECK(scene.db.checksum() == rows);
  CHECK(Database::psql(scene.db.admin_dsn, "SELECT count(*) FROM pg_database WHERE datname LIKE 'rb_rehearsal_%'") ==
        "0");
  auto report = testing::read_text(testing::report_path_of(rehearsed.out));
  CHECK_THAT(report, Catch::Contains("500"));  // the restored copy's calls, counted
}
