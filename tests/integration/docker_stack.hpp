// The demo stack (examples/staging) copied to a temp dir under a project of its own, with
// the shipped plans' vars pointing at it: what the end-to-end tests run plans against.
#pragma once

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "test_docker_support.hpp"

namespace dockertest {

namespace fs = std::filesystem;

inline fs::path source(const std::string& relative) { return fs::path(ROLLBACK_SOURCE_DIR) / relative; }

// One demo stack per test: a unique compose project, its volumes removed at the end even
// when the test fails.
class Stack {
 public:
  testing::TempDir dir;
  Cleanup cleanup;
  std::string project = unique("rbe2e");
  fs::path stack = dir / "stack";
  fs::path backups = dir / "backups";
  unsigned api_port = 0;

  Stack() {
    require_engine();
    if (!fs::exists(ROLLBACK_BINARY)) testing::skip("rollback binary not built");
    auto version = testing::run_rollback({"version"});
    if (version.exit_code != 0 || (version.out + version.err).find("not yet wired") != std::string::npos)
      testing::skip("the rollback CLI is not wired in this build");
    cleanup.projects.push_back(project);
    cleanup.volumes = {project + "_data", project + "_www"};
    fs::create_directories(stack);
    fs::create_directories(backups);
    auto compose = testing::read_text(source("examples/staging/docker-compose.yml"));
    // The demo's image name is fixed in the file; tests may use another one.
    for (auto at = compose.find("local/busybox"); at != std::string::npos; at = compose.find("local/busybox", at + 1))
      compose.replace(at, std::string("local/busybox").size(), image());
    testing::write_text(stack / "docker-compose.yml", compose);
    std::random_device rd;
    api_port = 20000 + rd() % 20000;
    testing::write_text(stack / ".env.staging",
                        "APP_VERSION=v1\nAPI_PORT=" + std::to_string(api_port) + "\n");
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
                                  "--var", "db_volume=" + project + "_data",
                                  "--var", "db_archive=data.tar.zst",
                                  "--var", "cache_volume=" + project + "_www",
                                  "--var", "cache_archive=www.tar.zst",
                                  "--var", "api_service=api",
                                  "--var", "db_service=store",
                                  "--var", "container_filter=" + project + "_",
                                  "--var", "health_url=http://127.0.0.1:" + std::to_string(api_port) + "/health"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  testing::CommandResult rollback(const std::string& plan, std::vector<std::string> extra = {}) const {
    auto r = testing::run_rollback(args(plan, std::move(extra)));
    UNSCOPED_INFO("rollback " << plan << " exit " << r.exit_code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    return r;
  }

  void compose(const std::vector<std::string>& command) const {
    std::vector<std::string> argv{"docker-compose", "-p", project, "--env-file", ".env.staging"};
    argv.insert(argv.end(), command.begin(), command.end());
    auto r = testing::run_program(argv, stack);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }

  void up_and_seed() {
    compose({"up", "-d"});
    in_volume(project + "_data", "printf 'patient-1\\npatient-2\\n' > /data/records.txt && mkdir -p /data/db && head -c 50000 /dev/urandom > /data/db/base.bin");
  }

  // Data, config and code all changed, as a bad deploy leaves them.
  void break_it() {
    in_volume(project + "_data", "echo corrupted > /data/records.txt && rm -rf /data/db && echo junk > /data/new.txt");
    in_volume(project + "_www", "echo v2-broken > /data/version.txt");
    testing::write_text(stack / "docker-compose.yml",
                        testing::read_text(stack / "docker-compose.yml") + "# deploy v2\n");
  }

  std::string state() const {
    return volume_sums(project + "_data") + volume_sums(project + "_www") +
           testing::read_text(stack / "docker-compose.yml") + testing::read_text(stack / ".env.staging");
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
