// The demo stack (examples/staging) copied to a temp dir under a project of its own, with
// the shipped plans' vars pointing at it: what the end-to-end tests run plans against. Its
// database is a real PostgreSQL 15 (local/postgres:15, scripts/lib/postgres-image) whose
// cluster lives in the `pgdata` volume; its store a real Redis 7 (local/redis:7,
// scripts/lib/redis-image) whose AOF lives in the `data` volume.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <random>
#include <string>
#include <vector>

#include "support/http_servers.hpp"
#include "test_docker_support.hpp"

namespace dockertest {

namespace fs = std::filesystem;

inline fs::path source(const std::string& relative) { return fs::path(ROLLBACK_SOURCE_DIR) / relative; }

inline const char* kPostgresImage = "local/postgres:15";
inline const char* kRedisImage = "local/redis:7";
inline const char* kApiKey = "test-evolution-key";

// One demo stack per test: a unique compose project, its volumes removed at the end even
// when the test fails. The api's own writes (WRITE_INTERVAL) are off unless asked for: most
// tests compare the volumes byte for byte before and after a run.
class Stack {
 public:
  testing::TempDir dir;
  Cleanup cleanup;
  std::string project = unique("rbe2e");
  fs::path stack = dir / "stack";
  fs::path backups = dir / "backups";
  unsigned api_port = 0;
  unsigned pg_port = 0;
  unsigned redis_port = 0;

  explicit Stack(const std::string& write_interval = "0") {
    require_engine();
    if (testing::run_program({"docker", "image", "inspect", kPostgresImage}).exit_code != 0)
      testing::skip(std::string(kPostgresImage) + " is not present (scripts/lib/postgres-image)");
    if (testing::run_program({"docker", "image", "inspect", kRedisImage}).exit_code != 0)
      testing::skip(std::string(kRedisImage) + " is not present (scripts/lib/redis-image)");
    if (!fs::exists(ROLLBACK_BINARY)) testing::skip("rollback binary not built");
    auto version = testing::run_rollback({"version"});
    if (version.exit_code != 0 || (version.out + version.err).find("not yet wired") != std::string::npos)
      testing::skip("the rollback CLI is not wired in this build");
    cleanup.projects.push_back(project);
    cleanup.volumes = {project + "_data", project + "_pgdata"};
    fs::create_directories(stack);
    fs::create_directories(backups);
    fs::copy(source("examples/staging/docker-compose.yml"), stack / "docker-compose.yml");
    fs::copy(source("examples/staging/api"), stack / "api", fs::copy_options::recursive);
    api_port = testing::unused_publish_port();
    do pg_port = testing::unused_publish_port();
    while (pg_port == api_port);
    do redis_port = testing::unused_publish_port();
    while (redis_port == api_port || redis_port == pg_port);
    testing::write_text(
        stack / ".env.staging",
        "APP_VERSION=v1\nAPI_PORT=" + std::to_string(api_port) +
            "\nPG_PORT=" + std::to_string(pg_port) + "\nREDIS_PORT=" + std::to_string(redis_port) +
            "\nWRITE_INTERVAL=" + write_interval + "\nAUTHENTICATION_API_KEY=" + kApiKey + "\n");
    // The shipped plans read the Evolution API's key from here (a secret).
    ::setenv("EVOLUTION_API_KEY", kApiKey, 1);
  }

  std::vector<std::string> args(const std::string& plan, std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{plan,
                                  "--plans-dir", source("plans").string(),
                                  "--state-dir", (dir / "state").string(),
                                  "--operator", "ci",
                                  "--var", "stack_dir=" + stack.string(),
                                  "--var", "backups=" + backups.string(),
                                  "--var", "project=" + project,
                                  "--var", "helper_image=" + image(),
                                  "--var", "db_volume=" + project + "_pgdata",
                                  "--var", "db_archive=pgdata.tar.zst",
                                  "--var", "cache_volume=" + project + "_data",
                                  "--var", "cache_archive=data.tar.zst",
                                  "--var", "api_service=api",
                                  "--var", "db_service=postgres",
                                  "--var", "container_filter=" + project + "_",
                                  "--var", "health_url=" + url("/health"),
                                  "--var", "instances_url=" + url("/cgi-bin/fetchInstances")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  testing::CommandResult rollback(const std::string& plan, std::vector<std::string> extra = {}) const {
    auto r = testing::run_rollback(args(plan, std::move(extra)));
    UNSCOPED_INFO("rollback " << plan << " exit " << r.exit_code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    return r;
  }

  // `rollback COMMAND PLAN ...` (rehearse, check) with the same vars.
  testing::CommandResult command(const std::string& command, const std::string& plan,
                                 std::vector<std::string> extra = {}) const {
    auto argv = args(plan, std::move(extra));
    argv.insert(argv.begin(), command);
    auto r = testing::run_rollback(argv);
    UNSCOPED_INFO("rollback " << command << " " << plan << " exit " << r.exit_code << "\nstdout:\n" << r.out
                              << "\nstderr:\n" << r.err);
    return r;
  }

  void compose(const std::vector<std::string>& command) const {
    std::vector<std::string> argv{"docker-compose", "-p", project, "--env-file", ".env.staging"};
    argv.insert(argv.end(), command.begin(), command.end());
    auto r = testing::run_program(argv, stack);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(api_port) + path; }

  // SQL in the stack's database, through its own container (psql is in the image).
  std::string sql(const std::string& text) const {
    for (int i = 0; i < 120; ++i) {  // a database that is (re)starting answers soon
      if (testing::run_program({"docker", "exec", container("postgres"), "pg_isready", "-q"}).exit_code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    auto r = testing::run_program({"docker", "exec", container("postgres"), "psql", "-X", "-q", "-tA", "-v",
                                   "ON_ERROR_STOP=1", "-U", "evolution_user", "-d", "evolution_staging", "-c", text});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // A command in the stack's Redis, through its own container (redis-cli is in the image);
  // what it printed, without the last newline.
  std::string redis(const std::vector<std::string>& command) const {
    for (int i = 0; i < 120; ++i) {  // a store that is (re)starting or loading its AOF answers soon
      if (testing::run_program({"docker", "exec", container("store"), "redis-cli", "ping"}).out ==
          "PONG\n")
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    std::vector<std::string> argv{"docker", "exec", container("store"), "redis-cli"};
    argv.insert(argv.end(), command.begin(), command.end());
    auto r = testing::run_program(argv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // The running container of a service ("" when none).
  std::string container(const std::string& service) const {
    auto ids = words(docker_out({"ps", "-q", "--filter", "label=com.docker.compose.project=" + project, "--filter",
                                 "label=com.docker.compose.service=" + service}));
    return ids.empty() ? "" : ids.front();
  }

  void up_and_seed() {
    compose({"up", "-d"});
    // The cache: two records and 50 KB of random bytes, in the AOF in the `data` volume.
    redis({"MSET", "patient:1", "cita 2025-01-27", "patient:2", "cita 2025-01-28"});
    auto blob = testing::run_program({"docker", "exec", container("store"), "sh", "-c",
                                      "head -c 50000 /dev/urandom | redis-cli -x SET blob"});
    INFO(blob.err);
    REQUIRE(blob.out == "OK\n");
    sql("CREATE TABLE \"Instance\" (name text PRIMARY KEY, status text)");
    sql("INSERT INTO \"Instance\" VALUES ('agentsalud-citas', 'open'), ('agentsalud-soporte', 'open')");
  }

  // Data, config and code all changed, as a bad deploy leaves them.
  void break_it() {
    redis({"SET", "patient:1", "corrupted"});
    redis({"DEL", "blob"});
    redis({"SET", "new", "junk"});
    sql("UPDATE \"Instance\" SET status = 'close'; CREATE TABLE migration_v2 (id int)");
    testing::write_text(stack / "docker-compose.yml",
                        testing::read_text(stack / "docker-compose.yml") + "# deploy v2\n");
  }

  // The database's content: its tables and the instances, as rows (a running cluster
  // rewrites its own files, so it is compared by what it holds, not byte for byte).
  std::string database() const {
    return sql("SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = "
               "'public') || ' | ' || (SELECT string_agg(name || '=' || status, ',' ORDER BY name) FROM \"Instance\")");
  }

  std::string state() const {
    return volume_sums(project + "_data") + database() + "\n" + testing::read_text(stack / "docker-compose.yml") +
           testing::read_text(stack / ".env.staging");
  }

  std::vector<fs::path> targets(const std::string& prefix) const {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(backups))
      if (e.path().filename().string().starts_with(prefix)) found.push_back(e.path());
    std::sort(found.begin(), found.end());
    return found;
  }

  bool running(const std::string& service) const {
    auto out = docker_out({"ps", "-q", "--filter", "label=com.docker.compose.project=" + project,
                                       "--filter", "label=com.docker.compose.service=" + service});
    return !out.empty();
  }
};


}  // namespace dockertest
