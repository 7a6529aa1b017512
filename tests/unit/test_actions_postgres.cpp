#include <catch2/catch.hpp>

#include <map>

#include <rollback/actions/postgres.hpp>
#include <rollback/actions/postgres_cluster.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::actions;

namespace {

// Records every command; answers with a fixed exit code.
struct RecordingRunner : proc::Runner {
  std::vector<proc::Command> commands;
  int exit_code = 0;
  Result<proc::Completed> run(const proc::Command& command) override {
    commands.push_back(command);
    proc::Completed done;
    done.exit_code = exit_code;
    if (exit_code != 0) done.err = "pg_restore: error: could not read input file: end of file";
    return done;
  }
};

struct Fixture {
  RecordingRunner runner;
  std::map<std::string, std::string> vars;
  std::vector<std::string> log;
  ActionContext ctx{"restore-db", runner,
                    [this](const std::string& k, const std::string& v) { vars[k] = v; },
                    [this](std::string_view line) { log.emplace_back(line); }};
};

const std::string kPlainDump =
    "--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE t (id int);\n\n--\n"
    "-- PostgreSQL database dump complete\n--\n\n";

}  // namespace

TEST_CASE("a DSN's password is hidden in its display and registered as a secret", "[actions][pg]") {
  clear_secrets();
  auto dsn = pg::parse_dsn("postgresql://app:hunter2pw@db.internal:6543/shop");
  REQUIRE(dsn);
  CHECK(dsn->display == "postgresql://app:***@db.internal:6543/shop");
  CHECK(dsn->where == "db.internal:6543/shop");
  CHECK(dsn->password == "hunter2pw");
  CHECK(redact("connecting with hunter2pw") == "connecting with ***");
  CHECK(dsn->conninfo_for_argv().find("hunter2pw") == std::string::npos);
  CHECK(dsn->child_env().at("PGPASSWORD") == "hunter2pw");
  CHECK(dsn->conninfo().find("password='hunter2pw'") != std::string::npos);
}

TEST_CASE("a key=value DSN's password is hidden too", "[actions][pg]") {
  clear_secrets();
  CHECK(pg::redact_dsn("host=db user=app password=s3cr3tvalue dbname=shop") ==
        "host=db user=app password=*** dbname=shop");
  auto dsn = pg::parse_dsn("host=db port=5433 user=app password='pa ss' dbname=shop");
  REQUIRE(dsn);
  CHECK(dsn->where == "db:5433/shop");
  CHECK(dsn->display.find("pa ss") == std::string::npos);
}

TEST_CASE("an invalid DSN is an error that does not echo the password", "[actions][pg]") {
  auto dsn = pg::parse_dsn("postgresql://app:topsecretpw@db/shop?no_such_option=1");
  REQUIRE_FALSE(dsn);
  CHECK(dsn.error().message.find("topsecretpw") == std::string::npos);
  CHECK(dsn.error().message.find("invalid PostgreSQL DSN") != std::string::npos);
}

TEST_CASE("a DSN whose port, sslmode or timeout libpq would refuse only when connecting is an error now, "
          "without the value",
          "[actions][pg]") {
  // An unencoded ':' in the password: libpq reads "pw:5x432" apart, and "5x432" as the port.
  auto port = pg::parse_dsn("postgresql://app:5x432@127.0.0.1:5x432/postgres");
  REQUIRE_FALSE(port);
  CHECK_THAT(port.error().message, Catch::StartsWith("invalid PostgreSQL DSN: option port is not a port number"));
  CHECK(port.error().message.find("5x432") == std::string::npos);
  auto sslmode = pg::parse_dsn("postgresql://app@db/shop?sslmode=bogus");
  REQUIRE_FALSE(sslmode);
  CHECK_THAT(sslmode.error().message, Catch::Contains("option sslmode is not one of disable, allow, prefer"));
  auto timeout = pg::parse_dsn("host=db connect_timeout=soon");
  REQUIRE_FALSE(timeout);
  CHECK_THAT(timeout.error().message, Catch::Contains("option connect_timeout is not a whole number"));
  CHECK(pg::parse_dsn("host=a,b port=5432,5433 dbname=shop sslmode=verify-full"));
  CHECK(pg::parse_dsn("host=a,b port=,5433 dbname=shop"));  // an empty port is the default
}

TEST_CASE("restore refuses a missing or empty dump file without running anything", "[actions][pg]") {
  testing::TempDir dir;
  Fixture f;
  auto restore = pg::restore_action();
  auto missing = restore.preflight(f.ctx, Params(nlohmann::json{{"dsn", "postgresql://u@h/db"}, {"from", (dir / "nope.sql").string()}}));
  CHECK_FALSE(missing.ok);
  CHECK(missing.message.find("does not exist") != std::string::npos);
  testing::write_text(dir / "empty.dump", "");
  auto empty = restore.run(f.ctx, Params(nlohmann::json{{"dsn", "postgresql://u@h/db"}, {"from", (dir / "empty.dump").string()}}));
  CHECK_FALSE(empty.ok);
  CHECK(empty.message.find("is empty") != std::string::npos);
  CHECK(f.runner.commands.empty());
}

TEST_CASE("restore refuses a truncated plain dump before psql runs", "[actions][pg]") {
  testing::TempDir dir;
  Fixture f;
  testing::write_text(dir / "db.sql", kPlainDump.substr(0, kPlainDump.size() - 45));
  auto out = pg::restore_action().run(f.ctx, Params(nlohmann::json{{"dsn", "postgresql://u@h/db"}, {"from", (dir / "db.sql").string()}}));
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("truncated") != std::string::npos);
  CHECK(out.message.find("nothing was changed") != std::string::npos);
  CHECK(f.runner.commands.empty());
}

TEST_CASE("restore refuses a file that is not a pg_dump SQL file", "[actions][pg]") {
  testing::TempDir dir;
  Fixture f;
  testing::write_text(dir / "notes.sql", "DROP TABLE users;\n-- PostgreSQL database dump complete\n");
  auto out = pg::restore_action().preflight(f.ctx, Params(nlohmann::json{{"from", (dir / "notes.sql").string()}}));
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("does not look like a pg_dump SQL file") != std::string::npos);
}

TEST_CASE("restore refuses a dump whose checksum does not match its .sha256", "[actions][pg]") {
  testing::TempDir dir;
  Fixture f;
  testing::write_text(dir / "db.sql", kPlainDump);
  testing::write_text(dir / "db.sql.sha256", std::string(64, 'a') + "  db.sql\n");
  auto out = pg::restore_action().run(f.ctx, Params(nlohmann::json{{"from", (dir / "db.sql").string()}}));
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("fails its checksum") != std::string::npos);
  CHECK(f.runner.commands.empty());
}

TEST_CASE("a verified plain dump is restored by psql in one transaction, password in the env", "[actions][pg]") {
  testing::TempDir dir;
  Fixture f;
  testing::write_text(dir / "db.sql", kPlainDump);
  testing::write_text(dir / "db.sql.sha256", sha256_hex(kPlainDump) + "  db.sql\n");
  auto out = pg::restore_action().run(
      f.ctx, Params(nlohmann::json{{"dsn", "postgresql://app:pw-in-env-only@h:5432/db"}, {"from", (dir / "db.sql").string()}}));
  REQUIRE(out.ok);
  REQUIRE(f.runner.commands.size() == 1);
  const auto& cmd = f.runner.commands[0];
  CHECK(cmd.argv[0] == "psql");
  CHECK(std::find(cmd.argv.begin(), cmd.argv.end(), "--single-transaction") != cmd.argv.end());
  CHECK(std::find(cmd.argv.begin(), cmd.argv.end(), "ON_ERROR_STOP=1") != cmd.argv.end());
  for (const auto& arg : cmd.argv) CHECK(arg.find("pw-in-env-only") == std::string::npos);
  CHECK(cmd.env.at("PGPASSWORD") == "pw-in-env-only");
}

TEST_CASE("a custom archive that pg_restore cannot read is refused before the restore", "[actions][pg]") {
  testing::TempDir dir;
  Fixture f;
  testing::write_text(dir / "db.dump", "PGDMP\x01\x0e\x00 truncated");
  f.runner.exit_code = 1;
  auto out = pg::restore_action().preflight(f.ctx, Params(nlohmann::json{{"from", (dir / "db.dump").string()}}));
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("pg_restore cannot read the archive") != std::string::npos);
  REQUIRE(f.runner.commands.size() == 1);
  CHECK(f.runner.commands[0].argv[1] == "--list");
}

TEST_CASE("describe shows the DSN with its password as ***", "[actions][pg]") {
  auto text = pg::restore_action().describe(Params(nlohmann::json{{"dsn", "postgresql://app:describepw@h/db"}, {"from", "/b/db.dump"}}));
  CHECK(text.find("describepw") == std::string::npos);
  CHECK(text.find("app:***@h/db") != std::string::npos);
}

TEST_CASE("pg.query's expect is checked at load time", "[actions][pg]") {
  std::string file = "plans/test.yaml";
  plan::Location step{file, 3, 5};
  auto messages = [&](const std::string& yaml) {
    YAML::Node with = YAML::Load(yaml);
    plan::Diagnostics out;
    ParamCheck check(file, with, step, out);
    pg::query_action().validate(check);
    return out.size();
  };
  CHECK(messages("{sql: SELECT 1, expect: '>= 1'}") == 0);
  CHECK(messages("{sql: SELECT 1, expect: {rows: '> 0', value: ok}}") == 0);
  CHECK(messages("{sql: SELECT 1, expect: '>='}") == 1);
  CHECK(messages("{sql: SELECT 1, expect: {count: 3}}") == 1);
  auto into = pg::query_action().params;
  CHECK(std::any_of(into.begin(), into.end(), [](const auto& p) { return p.name == "into" && p.sets_var; }));
}

TEST_CASE("a pg_dumpall script is rewritten to restore over a live server whatever pieces it comes in",
          "[actions][pg][dumpall]") {
  const std::string script =
      "-- PostgreSQL database cluster dump\n"
      "CREATE ROLE appuser;\n"
      "ALTER ROLE appuser WITH NOSUPERUSER LOGIN PASSWORD 'md5abc';\n"
      "CREATE ROLE \"Odd \"\"Role\";\n"
      "\\connect template1\n"
      "CREATE DATABASE app WITH TEMPLATE = template0 ENCODING = 'UTF8';\n"
      "CREATE DATABASE \"My DB\" WITH TEMPLATE = template0;\n"
      "\\connect postgres\n"
      "CREATE TABLE settings (k text);\n"
      "-- PostgreSQL database cluster dump complete";  // no final newline
  const std::string expected =
      "-- PostgreSQL database cluster dump\n"
      "DO $rollback$ BEGIN CREATE ROLE appuser; EXCEPTION WHEN duplicate_object THEN NULL; END $rollback$;\n"
      "ALTER ROLE appuser WITH NOSUPERUSER LOGIN PASSWORD 'md5abc';\n"
      "DO $rollback$ BEGIN CREATE ROLE \"Odd \"\"Role\"; EXCEPTION WHEN duplicate_object THEN NULL; END "
      "$rollback$;\n"
      "\\connect template1\n"
      "DROP DATABASE IF EXISTS app WITH (FORCE);\n"
      "CREATE DATABASE app WITH TEMPLATE = template0 ENCODING = 'UTF8';\n"
      "DROP DATABASE IF EXISTS \"My DB\" WITH (FORCE);\n"
      "CREATE DATABASE \"My DB\" WITH TEMPLATE = template0;\n"
      "\\connect template1\nDROP DATABASE IF EXISTS postgres WITH (FORCE);\n"
      "CREATE DATABASE postgres WITH TEMPLATE = template0;\n"
      "\\connect postgres\n"
      "CREATE TABLE settings (k text);\n"
      "-- PostgreSQL database cluster dump complete\n";
  for (size_t piece : {script.size(), size_t{1}, size_t{7}}) {
    std::string out;
    pg::ClusterScript rewrite([&](std::string_view data) {
      out.append(data);
      return ok();
    });
    for (size_t at = 0; at < script.size(); at += piece) REQUIRE(rewrite.feed(std::string_view(script).substr(at, piece)));
    REQUIRE(rewrite.finish());
    CHECK(out == expected);
    CHECK(rewrite.databases_replaced() == 3);
  }
}
