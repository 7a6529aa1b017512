// The Asistente Andrea scene the git-sql plan tests share (test_plan_git_sql.cpp, and the
// coolify -> git-sql fallback in test_plan_fallback.cpp): a repo with three deploys pushed to
// a bare origin, a PostgreSQL database of 500 calls, and the args their plans share.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "support/temp_dir.hpp"

namespace gitsql_test {

namespace fs = std::filesystem;

inline std::string run_ok(const std::vector<std::string>& argv) {
  auto r = testing::run_program(argv);
  INFO(fmt::format("{}: {}{}", argv.front(), r.out, r.err));
  REQUIRE(r.exit_code == 0);
  auto out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline std::string git(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir.string()});
  return run_ok(args);
}

struct Database {
  std::string admin_dsn, dsn, name;
  Database() {
    const char* base = std::getenv("ROLLBACK_TEST_PG_DSN");
    if (!base || !*base) testing::skip("ROLLBACK_TEST_PG_DSN is not set");
    admin_dsn = base;
    name = fmt::format("rb_gitsql_{}", ::getpid());
    psql(admin_dsn, "DROP DATABASE IF EXISTS " + name);
    psql(admin_dsn, "CREATE DATABASE " + name);
    dsn = admin_dsn.substr(0, admin_dsn.rfind('/') + 1) + name;
  }
  ~Database() { testing::run_program({"psql", "-X", "-q", "-d", admin_dsn, "-c", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"}); }
  static std::string psql(const std::string& dsn, const std::string& sql) {
    return run_ok({"psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql});
  }
  std::string sql(const std::string& text) const { return psql(dsn, text); }
  std::string checksum() const {
    return sql("SELECT md5(string_agg(id || ':' || transcript, ',' ORDER BY id)) FROM calls");
  }
};

// A repo with three deploys pushed to a bare origin, a database with 500 calls, and the
// args every plan in this file shares.
struct Scene {
  Database db;
  testing::TempDir tmp;
  fs::path origin = tmp / "origin.git", work = tmp / "work", backups = tmp / "backups";
  std::vector<std::string> deploys;
  std::string good_checksum;
  std::vector<std::string> common;
  std::vector<std::pair<std::string, std::string>> env;  // for the rollback processes

  Scene() {
    git(tmp.path(), {"init", "--quiet", "--bare", "-b", "main", origin.string()});
    git(tmp.path(), {"clone", "--quiet", origin.string(), work.string()});
    git(work, {"config", "user.name", "Test"});
    git(work, {"config", "user.email", "test@example.invalid"});
    git(work, {"checkout", "--quiet", "-B", "main"});
    for (int i = 1; i <= 3; ++i) {
      testing::write_text(work / "app.txt", fmt::format("version {}\n", i));
      git(work, {"add", "app.txt"});
      git(work, {"commit", "--quiet", "-m", fmt::format("deploy {}", i)});
      deploys.push_back(git(work, {"rev-parse", "HEAD"}));
    }
    git(work, {"push", "--quiet", "-u", "origin", "main"});
    db.sql("CREATE TABLE calls (id int PRIMARY KEY, transcript text)");
    db.sql("INSERT INTO calls SELECT g, 'call ' || g FROM generate_series(1, 500) g");
    good_checksum = db.checksum();
    common = {"--plans-dir", fmt::format("{}/plans", ROLLBACK_SOURCE_DIR), "--state-dir", (tmp / "state").string(),
              "--var", "repo=" + work.string(), "--var", "backups=" + backups.string(), "--var", "db_dsn=" + db.dsn};
  }

  testing::CommandResult rollback(const std::string& plan, const std::vector<std::string>& extra) const {
    auto args = common;
    args.insert(args.begin(), plan);
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = testing::run_rollback(args, env);
    UNSCOPED_INFO("rollback " << plan << " exit " << r.exit_code << "\n" << r.out << r.err);
    return r;
  }

  testing::CommandResult command(const std::string& command, const std::string& plan,
                                 const std::vector<std::string>& extra) const {
    auto args = common;
    args.insert(args.begin(), {command, plan});
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = testing::run_rollback(args, env);
    UNSCOPED_INFO("rollback " << command << " " << plan << " exit " << r.exit_code << "\n" << r.out << r.err);
    return r;
  }

  // backup-git-sql as if run before a deploy while `commit` was deployed.
  void backup_at(const std::string& commit) {
    auto head = git(work, {"rev-parse", "HEAD"});
    git(work, {"reset", "--quiet", "--hard", commit});
    REQUIRE(rollback("backup-git-sql", {"--yes"}).exit_code == 0);
    git(work, {"reset", "--quiet", "--hard", head});
  }

  // The bad deploy: a new commit on origin and damaged rows.
  void bad_deploy() {
    testing::write_text(work / "app.txt", "version 4 (broken)\n");
    git(work, {"commit", "--quiet", "-am", "deploy 4: broken migration"});
    git(work, {"push", "--quiet", "origin", "main"});
    db.sql("DELETE FROM calls WHERE id > 300");
    db.sql("UPDATE calls SET transcript = '' WHERE id <= 10");
    REQUIRE(db.sql("SELECT count(*) FROM calls") == "300");
  }
};


}  // namespace gitsql_test
