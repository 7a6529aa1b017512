// End to end on the real swarm: the `rollback` binary runs plans/backup-swarm.yaml and
// plans/swarm.yaml (and `check --auto swarm`) against a stack of the test's own.
#include <thread>

#include "swarm_stack.hpp"
#include "targets_table.hpp"

namespace fs = std::filesystem;
using dockertest::docker_out;
using dockertest::docker_rc;
using dockertest::Harness;
using swarmtest::SwarmStack;

namespace {

// Deploys what the env file says and waits until it converged, as an operator's release would.
void release(SwarmStack& s, const std::string& image, const std::string& number = "1") {
  s.write_env(image, number);
  Harness h;
  auto deployed = h.run("docker.stack.deploy", s.deploy_params());
  REQUIRE(deployed.ok);
}

fs::path only_target(const SwarmStack& s) {
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(s.backups)) found.push_back(e.path());
  REQUIRE(found.size() == 1);
  return found[0];
}

}  // namespace

TEST_CASE(
    "swarm goes back to a backed-up target after its tag was moved to other content, and the "
    "pinned image runs",
    "[swarm][e2e]") {
  SwarmStack s;
  auto v1 = s.make_image("app", "v1");
  release(s, s.repo + ":app");
  REQUIRE(s.version() == "v1");
  auto backup = s.rollback("backup-swarm");
  REQUIRE(backup.exit_code == 0);
  auto target = only_target(s);
  for (const char* f : {"stack.yml", ".env", "swarm.json", "SHA256SUMS"})
    CHECK(fs::exists(target / f));

  s.make_image("app", "v2");  // same tag, other content
  release(s, s.repo + ":app", "2");
  REQUIRE(s.version() == "v2");

  auto listed = testing::run_rollback({"targets", "swarm", "--plans-dir",
                                       dockertest::source("plans").string(), "--vars",
                                       dockertest::source("examples/swarm/vars.yaml").string(), "--var",
                                       "backups=" + s.backups.string()});
  CHECK(listed.exit_code == 0);
  CHECK(targetstest::verdict(listed.out, target.filename().string()) == "yes");

  auto dry = s.rollback("swarm", {"--target", "latest", "--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("docker stack deploy") && Catch::Contains("swarm.json"));
  CHECK(s.version() == "v2");  // a dry run changes nothing

  auto run = s.rollback("swarm", {"--target", "latest", "--yes", "--reason", "e2e"});
  REQUIRE(run.exit_code == 0);
  CHECK(s.service_image("api") == v1);  // pinned by image ID: a moved tag cannot interfere
  CHECK(s.version() == "v1");
  auto report = testing::read_text(testing::report_path_of(run.out));
  CHECK_THAT(report, Catch::Contains("Every service converged") && Catch::Contains("1/1 running"));
}

TEST_CASE(
    "a target whose recorded image is gone gives exit 4 and leaves the running stack untouched",
    "[swarm][e2e]") {
  SwarmStack s;
  auto v1 = s.make_image("v1", "v1");
  release(s, s.repo + ":v1");
  REQUIRE(s.rollback("backup-swarm").exit_code == 0);
  s.make_image("v2", "v2");
  release(s, s.repo + ":v2");
  REQUIRE(s.version() == "v2");

  // The operator prunes old images: v1 goes (its stopped task containers first).
  s.remove_stopped_containers();
  REQUIRE(docker_rc({"rmi", s.repo + ":v1"}) == 0);
  REQUIRE(docker_rc({"image", "inspect", v1}) != 0);

  auto before = s.service_version_index("api");
  auto run = s.rollback("swarm", {"--target", "latest", "--yes"});
  CHECK(run.exit_code == 4);
  CHECK_THAT(run.out + run.err, Catch::Contains(v1) && Catch::Contains("not present"));
  CHECK(s.service_version_index("api") == before);
  CHECK(s.service_image("api") == s.repo + ":v2");
  CHECK(s.version() == "v2");
}

TEST_CASE(
    "check --auto swarm runs the plan once when replicas stay below desired longer than `for:`",
    "[swarm][e2e][check]") {
  SwarmStack s;
  s.make_image("v1", "v1");
  release(s, s.repo + ":v1");
  REQUIRE(s.rollback("backup-swarm").exit_code == 0);

  // A release whose API exits at once: Swarm pauses the update, 0/1 running.
  s.make_crashing_image("v2");
  s.write_env(s.repo + ":v2", "2");
  auto env = testing::read_text(s.stack_dir / ".env");
  std::vector<std::string> deploy{
      "docker",          "stack", "deploy", "-c",  (s.stack_dir / "stack.yml").string(),
      "--resolve-image", "never", "--",     s.name};
  std::vector<std::string> with_env{"env"};
  for (const auto& line : dockertest::words(env)) with_env.push_back(line);
  with_env.insert(with_env.end(), deploy.begin(), deploy.end());
  REQUIRE(testing::run_program(with_env).exit_code == 0);
  REQUIRE(swarmtest::eventually([&] { return s.version().empty(); }, std::chrono::seconds(30)));

  // The shipped plan, with its 2-minute hold shortened so the test takes seconds.
  auto plans = s.dir / "plans";
  fs::create_directories(plans);
  auto text = testing::read_text(dockertest::source("plans/swarm.yaml"));
  auto at = text.find("      for: 2m");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("      for: 2m").size(), "      for: 2s");
  testing::write_text(plans / "swarm.yaml", text);
  auto check = [&] {
    auto argv = s.args("swarm", plans);
    argv.insert(argv.begin(), "check");
    argv.push_back("--auto");
    auto r = testing::run_rollback(argv);
    UNSCOPED_INFO("check exit " << r.exit_code << "\n" << r.out << r.err);
    return r;
  };
  auto runs = [&] {
    std::error_code ec;
    size_t n = 0;
    for (auto it = fs::directory_iterator(s.dir / "state" / "runs", ec);
         !ec && it != fs::directory_iterator(); ++it)
      ++n;
    return n;
  };
  size_t runs_before = runs();  // the backup's

  auto first = check();
  CHECK(first.exit_code == 0);  // failing, not yet for 2s: nothing runs
  CHECK(runs() == runs_before);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto fired = check();
  REQUIRE(fired.exit_code == 0);
  CHECK(runs() == runs_before + 1);
  CHECK(s.version() == "v1");
  auto report = testing::read_text(testing::report_path_of(fired.out));
  CHECK_THAT(report,
             Catch::Contains("rollback check --auto") && Catch::Contains("Replicas below desired"));

  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto after = check();
  CHECK(after.exit_code == 0);
  CHECK(runs() == runs_before + 1);  // converged again: fired once
}
