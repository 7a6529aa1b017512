// `from: coolify-backup`: target.with checked at load with its lines, the executions listed
// from a fake Coolify (failed and running ones left out, newest first), and the proof of a
// file that needs no program (sizes, gzipped pg_dumpall SQL read whole).
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstdlib>

#include <rollback/actions/action.hpp>
#include <rollback/plan/fallback.hpp>
#include <rollback/plan/loader.hpp>

#include "support/fake_coolify.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;

namespace {

constexpr const char* kDb = "db-uuid-1";
constexpr const char* kBackup = "backup-uuid-1";

std::string plan_text(const std::string& with) {
  return "version: 1\nname: coolify-db\nkind: custom\nvars: {database: db}\n"
         "target:\n  from: coolify-backup\n  with: " +
         with + "\nsteps:\n  - {id: a, action: wait.sleep, with: {duration: 1ms}}\n";
}

plan::LoadResult load(const std::string& with) {
  return plan::load_plan_text(plan_text(with), "p.yaml", actions::builtin_registry());
}

std::string errors_of(const plan::LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

const plan::TargetSource& source() {
  return *actions::builtin_registry().targets().find("coolify-backup");
}

std::string with_for(const testing::FakeCoolify& fake, const testing::TempDir& spool,
                     const std::string& extra = "") {
  return "{url: \"" + fake.url() + "\", token: fake-token-s3cr3t, database: " + kDb +
         ", backup: " + kBackup + ", spool: \"" + (spool / "spool").string() + "\"" + extra + "}";
}

testing::FakeExecution execution(std::string uuid, std::string file, unsigned long long size,
                                 std::string at, std::string status = "success") {
  return {.uuid = std::move(uuid),
          .filename = std::move(file),
          .size = size,
          .created_at = std::move(at),
          .status = std::move(status)};
}

void write_gzip(const std::filesystem::path& path, const std::string& text) {
  gzFile out = gzopen(path.c_str(), "wb");
  REQUIRE(out);
  gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
  gzclose(out);
}

const std::string kDumpall =
    "--\n-- PostgreSQL database cluster dump\n--\n\nCREATE ROLE app;\n\n--\n-- PostgreSQL database "
    "cluster dump complete\n--\n\n";

}  // namespace

TEST_CASE(
    "from: coolify-backup takes url token database and backup and says what is missing at its line",
    "[coolify][targets]") {
  auto missing = load("{url: \"http://127.0.0.1:1\", token: t, database: d}");
  CHECK_THAT(errors_of(missing),
             Catch::Contains("p.yaml:7:9: target: from: coolify-backup needs parameter 'backup'"));

  auto unknown = load("{url: \"http://127.0.0.1:1\", token: t, database: d, backup: b, bucket: x}");
  CHECK_THAT(errors_of(unknown),
             Catch::Contains("p.yaml:7:71: target: unknown parameter 'bucket' for from: "
                             "coolify-backup"));

  auto remote =
      load("{url: \"http://127.0.0.1:1\", token: t, database: d, backup: b, remote: /mnt/usb}");
  CHECK_THAT(errors_of(remote), Catch::Contains("target: remote: "));

  auto spool =
      load("{url: \"http://127.0.0.1:1\", token: t, database: d, backup: b, spool: relative/dir}");
  CHECK_THAT(errors_of(spool), Catch::Contains("spool: 'relative/dir' must be an absolute path"));

  auto env =
      load("{url: \"http://127.0.0.1:1\", token: t, database: d, backup: b, env: {AWS_SECRET: x}}");
  CHECK_THAT(errors_of(env), Catch::Contains("env: 'AWS_SECRET' is not an rclone variable"));

  auto good = load(
      "{url: \"http://127.0.0.1:1\", token: t, database: d, backup: b, remote: \"s3:bucket\", "
      "env: {RCLONE_CONFIG_S3_TYPE: s3}}");
  INFO(errors_of(good));
  CHECK(good.plan);
}

TEST_CASE("coolify-backup lists only successful executions newest first with their file and size",
          "[coolify][targets]") {
  testing::TempDir dir;
  testing::FakeCoolify fake;
  auto here = dir / "pg-dump-app-1700000200.dmp";
  testing::write_text(here, "PGDMP");
  fake.set_backup(
      kDb, kBackup,
      {execution("old", "/data/coolify/backups/databases/t-0/app-db/pg-dump-app-1700000000.dmp",
                 900, "2026-11-20T10:00:00+00:00"),
       execution("broken", "", 0, "2026-11-22T10:00:00+00:00", "failed"),
       execution("new", here.string(), 5, "2026-11-21T10:00:00+00:00"),
       execution("busy", "", 0, "2026-11-23T10:00:00+00:00", "running")});
  auto r = load(with_for(fake, dir, ", remote: \"s3:bucket\""));
  INFO(errors_of(r));
  REQUIRE(r.plan);
  auto listed = source().list(r.plan->target, plan::Scope{});
  REQUIRE(listed);
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].name == "new");
  CHECK((*listed)[0].path == here.string());
  CHECK((*listed)[0].size_bytes == 5);
  CHECK_THAT((*listed)[0].detail, Catch::Contains("(on this host)"));
  CHECK((*listed)[1].name == "old");
  CHECK((*listed)[1].path ==
        (dir / "spool" / kBackup / "old" / "pg-dump-app-1700000000.dmp").string());
  CHECK_THAT((*listed)[1].detail,
             Catch::Contains(
                 "s3:bucket/data/coolify/backups/databases/t-0/app-db/pg-dump-app-1700000000.dmp"));
  CHECK((*listed)[0].created > (*listed)[1].created);
  auto asked = fake.requests().back();
  CHECK(asked.path ==
        std::string("/api/v1/databases/") + kDb + "/backups/" + kBackup + "/executions");
}

TEST_CASE(
    "coolify-backup says which uuid Coolify does not know or refuses one that leaves its path and "
    "never shows the token",
    "[coolify][targets]") {
  testing::TempDir dir;
  testing::FakeCoolify fake;
  fake.set_backup(kDb, "another-backup", {});
  auto r = load(with_for(fake, dir));
  REQUIRE(r.plan);
  auto listed = source().list(r.plan->target, plan::Scope{});
  REQUIRE_FALSE(listed);
  CHECK_THAT(listed.error().message, Catch::Contains("Backup configuration not found."));

  auto escaping = load("{url: \"" + fake.url() +
                       "\", token: fake-token-s3cr3t, database: \"${database}\", backup: b}");
  REQUIRE(escaping.plan);
  plan::Scope scope;
  scope.set_var("database", "../../applications");
  auto refused_path = source().list(escaping.plan->target, scope);
  REQUIRE_FALSE(refused_path);
  CHECK_THAT(refused_path.error().message,
             Catch::Contains("target.with.database: expected a uuid"));

  testing::FakeCoolify other("another-token");
  other.set_backup(kDb, kBackup, {});
  auto wrong = load(with_for(other, dir));
  REQUIRE(wrong.plan);
  auto refused = source().list(wrong.plan->target, plan::Scope{});
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("the API token is missing or wrong"));
  CHECK_THAT(refused.error().message, !Catch::Contains("fake-token-s3cr3t"));
}

TEST_CASE(
    "coolify-backup proves a gzipped pg_dumpall file whole and refuses a cut or mis-sized one",
    "[coolify][targets]") {
  testing::TempDir dir;
  testing::FakeCoolify fake;
  auto whole = dir / "pg-dump-all-1700000300.gz";
  write_gzip(whole, kDumpall);
  auto size = std::filesystem::file_size(whole);
  auto cut = dir / "pg-dump-all-1700000200.gz";
  testing::write_text(cut, testing::read_text(whole).substr(0, size - 12));
  auto wrong = dir / "pg-dump-all-1700000100.gz";
  std::filesystem::copy_file(whole, wrong);
  fake.set_backup(
      kDb, kBackup,
      {execution("whole", whole.string(), size, "2026-11-21T10:00:03+00:00"),
       execution("cut", cut.string(), size - 12, "2026-11-21T10:00:02+00:00"),
       execution("wrong", wrong.string(), size + 1, "2026-11-21T10:00:01+00:00"),
       execution("gone", "/nonexistent/pg-dump-all-1.gz", 10, "2026-11-21T10:00:00+00:00")});
  auto r = load(with_for(fake, dir));
  REQUIRE(r.plan);
  plan::Scope scope;
  auto listed = source().list(r.plan->target, scope);
  REQUIRE(listed);
  REQUIRE(listed->size() == 4);
  auto problems = [&](size_t i) {
    std::string out;
    for (const auto& p : source().verify(r.plan->target, (*listed)[i], scope)) out += p + "\n";
    return out;
  };
  CHECK(problems(0).empty());
  CHECK_THAT(problems(1), Catch::Contains("does not decompress"));
  CHECK_THAT(problems(2), Catch::Contains("Coolify recorded " + std::to_string(size + 1)));
  CHECK_THAT(problems(3),
             Catch::Contains("is not on this host, and target.with names no `remote`"));
}

TEST_CASE(
    "coolify-db can stand in for git-sql as the coolify plan's fallback: same restore_database var "
    "and no fallback of its own",
    "[coolify][plans]") {
  auto plans = std::filesystem::path(ROLLBACK_SOURCE_DIR) / "plans";
  auto coolify_text = testing::read_text(plans / "coolify.yaml");
  auto at = coolify_text.find("  plan: git-sql\n");
  REQUIRE(at != std::string::npos);
  coolify_text.replace(at, std::string("  plan: git-sql\n").size(), "  plan: coolify-db\n");
  auto coolify = plan::load_plan_text(coolify_text, "coolify.yaml", actions::builtin_registry());
  auto db = plan::load_plan(plans / "coolify-db.yaml", actions::builtin_registry());
  INFO(errors_of(coolify) << errors_of(db));
  REQUIRE(coolify.plan);
  REQUIRE(db.plan);
  CHECK(db.plan->target.from == "coolify-backup");
  CHECK(db.plan->target.default_target == "latest");
  auto pair = plan::check_fallback_pair(*coolify.plan, *db.plan);
  std::string problems;
  for (const auto& d : pair) problems += d.str() + "\n";
  CHECK(problems.empty());
}

TEST_CASE(
    "coolify-backup downloads only into a spool nobody else can write and leaves no partial file "
    "when the "
    "S3 copy cannot be read",
    "[coolify][targets]") {
  if (std::system("command -v rclone >/dev/null 2>&1") != 0)
    testing::skip("rclone is not installed");
  testing::TempDir dir;
  testing::FakeCoolify fake;
  // rclone reads no config of the user's: the remote is defined nowhere.
  ::setenv("RCLONE_CONFIG", (dir / "rclone.conf").c_str(), 1);
  const std::string file = "/data/coolify/backups/databases/t-0/app-db/pg-dump-app-1700000000.dmp";
  fake.set_backup(kDb, kBackup, {execution("gone-here", file, 900, "2026-11-20T10:00:00+00:00")});
  auto r = load(with_for(fake, dir, ", remote: \"nosuch:bucket\""));
  REQUIRE(r.plan);
  plan::Scope scope;
  auto listed = source().list(r.plan->target, scope);
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  auto problems = source().verify(r.plan->target, listed->front(), scope);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("downloading nosuch:bucket" + file));
  auto folder = dir / "spool" / kBackup / "gone-here";
  CHECK(std::filesystem::is_empty(folder));
  CHECK((std::filesystem::status(dir / "spool").permissions() & std::filesystem::perms::all) ==
        std::filesystem::perms::owner_all);

  std::filesystem::permissions(dir / "spool",
                               std::filesystem::perms::all);  // 0777: anyone may plant
  problems = source().verify(r.plan->target, listed->front(), scope);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("is writable by others (mode 0777)"));
  ::unsetenv("RCLONE_CONFIG");
}
