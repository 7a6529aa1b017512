// End to end: the `rollback` binary runs plans/{backup,quick,full,emergency}.yaml against
// the demo stack (examples/staging) on the real engine, in a project of its own.
#include <filesystem>
#include <random>
#include <thread>

#include "test_docker_support.hpp"

namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& relative) { return fs::path(ROLLBACK_SOURCE_DIR) / relative; }

// The demo stack copied to a temp dir under a unique project, with the plans' vars set.
class Stack {
 public:
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  std::string project = dockertest::unique("rbe2e");
  fs::path stack = dir / "stack";
  fs::path backups = dir / "backups";
  unsigned api_port = 0;

  Stack() {
    dockertest::require_engine();
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
      compose.replace(at, std::string("local/busybox").size(), dockertest::image());
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
                                  "--var", "helper_image=" + dockertest::image(),
                                  "--var", "db_volume=" + project + "_data",
                                  "--var", "db_archive=data.tar.gz",
                                  "--var", "cache_volume=" + project + "_www",
                                  "--var", "cache_archive=www.tar.gz",
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
    dockertest::in_volume(project + "_data", "printf 'patient-1\\npatient-2\\n' > /data/records.txt && mkdir -p /data/db && head -c 50000 /dev/urandom > /data/db/base.bin");
  }

  // Data, config and code all changed, as a bad deploy leaves them.
  void break_it() {
    dockertest::in_volume(project + "_data", "echo corrupted > /data/records.txt && rm -rf /data/db && echo junk > /data/new.txt");
    dockertest::in_volume(project + "_www", "echo v2-broken > /data/version.txt");
    testing::write_text(stack / "docker-compose.yml",
                        testing::read_text(stack / "docker-compose.yml") + "# deploy v2\n");
  }

  std::string state() const {
    return dockertest::volume_sums(project + "_data") + dockertest::volume_sums(project + "_www") +
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
    auto out = dockertest::docker_out({"ps", "-q", "--filter", "label=com.docker.compose.project=" + project,
                                       "--filter", "label=com.docker.compose.service=" + service});
    return !out.empty();
  }
};

}  // namespace

TEST_CASE("quick restores every volume byte for byte and the compose file from the latest backup",
          "[docker][e2e]") {
  Stack s;
  s.up_and_seed();
  auto good = s.state();
  auto backup = s.rollback("backup");
  REQUIRE(backup.exit_code == 0);
  auto made = s.targets("staging-");
  REQUIRE(made.size() == 1);
  for (const char* f : {"docker-compose.yml", ".env.staging", "data.tar.gz", "www.tar.gz", "SHA256SUMS"})
    CHECK(fs::exists(made[0] / f));

  s.break_it();
  REQUIRE(s.state() != good);
  auto quick = s.rollback("quick", {"--target", "latest", "--yes", "--reason", "e2e"});
  REQUIRE(quick.exit_code == 0);
  CHECK(s.state() == good);
  CHECK(s.running("api"));
  CHECK(s.running("store"));
  CHECK_THAT(quick.out, Catch::Contains("report"));
}

TEST_CASE("full leaves a pre-rollback target that restores the state it replaced", "[docker][e2e]") {
  Stack s;
  s.up_and_seed();
  auto good = s.state();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto stable = s.targets("staging-").at(0).filename().string();
  s.break_it();
  auto broken = s.state();

  auto full = s.rollback("full", {"--target", stable, "--yes"});
  REQUIRE(full.exit_code == 0);
  CHECK(s.state() == good);
  auto pre = s.targets("pre-rollback-");
  REQUIRE(pre.size() == 1);
  CHECK(fs::exists(pre[0] / "SHA256SUMS"));
  CHECK(fs::exists(pre[0] / "services.log"));

  // Undo the rollback: back to exactly what was running before it.
  auto undo = s.rollback("full", {"--target", pre[0].filename().string(), "--yes"});
  REQUIRE(undo.exit_code == 0);
  CHECK(s.state() == broken);
}

TEST_CASE("emergency stops by name, restores emergency-stable and starts the stack", "[docker][e2e]") {
  Stack s;
  s.up_and_seed();
  auto good = s.state();
  REQUIRE(s.rollback("backup", {"--var", "backup_name=emergency-stable"}).exit_code == 0);
  REQUIRE(fs::exists(s.backups / "emergency-stable" / "SHA256SUMS"));
  s.break_it();
  auto emergency = s.rollback("emergency", {"--yes"});
  REQUIRE(emergency.exit_code == 0);
  CHECK(s.state() == good);
  CHECK(s.running("api"));
}

TEST_CASE("a corrupt archive stops quick before down, with the stack still running", "[docker][e2e]") {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto target = s.targets("staging-").at(0);
  fs::resize_file(target / "data.tar.gz", fs::file_size(target / "data.tar.gz") / 2);
  s.break_it();
  auto broken = s.state();
  auto quick = s.rollback("quick", {"--target", "latest", "--yes"});
  CHECK(quick.exit_code == 4);
  CHECK(s.running("api"));
  CHECK(s.running("store"));
  CHECK(s.state() == broken);  // nothing was changed
}

TEST_CASE("check --auto runs the emergency plan on the real stack once its API has been down for `for:`, "
          "and the report's reason names the criterion", "[docker][e2e][check]") {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup", {"--var", "backup_name=emergency-stable"}).exit_code == 0);
  auto good = s.state();
  s.break_it();
  // The shipped emergency plan, with its 5-minute hold shortened so the test takes seconds.
  auto plans = s.dir / "plans";
  fs::create_directories(plans);
  auto text = testing::read_text(source("plans/emergency.yaml"));
  auto at = text.find("      for: 5m");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("      for: 5m").size(), "      for: 2s");
  testing::write_text(plans / "emergency.yaml", text);
  dockertest::docker_out({"stop", s.project + "_api_1"});
  REQUIRE_FALSE(s.running("api"));

  auto check = [&] {
    auto argv = s.args("emergency");
    argv.insert(argv.begin(), "check");
    argv.push_back("--auto");
    for (size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == "--plans-dir") argv[i + 1] = plans.string();
    auto r = testing::run_rollback(argv);
    UNSCOPED_INFO("check exit " << r.exit_code << "\n" << r.out << r.err);
    return r;
  };
  auto first = check();
  CHECK(first.exit_code == 0);  // failing, not yet for 2s: nothing runs
  CHECK_FALSE(s.running("api"));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto fired = check();
  REQUIRE(fired.exit_code == 0);
  CHECK(s.running("api"));
  CHECK(s.state() == good);
  auto report_path = testing::report_path_of(fired.out);
  auto report = testing::read_text(report_path);
  CHECK_THAT(report, Catch::Contains("rollback check --auto") && Catch::Contains("Evolution API no responde"));
}
