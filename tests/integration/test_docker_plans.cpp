// End to end: the `rollback` binary runs plans/{backup,quick,full,emergency}.yaml against
// the demo stack (examples/staging) on the real engine, in a project of its own.
#include <filesystem>
#include <thread>

#include "docker_stack.hpp"

namespace fs = std::filesystem;
using dockertest::source;
using dockertest::Stack;


TEST_CASE("quick restores the store volume byte for byte, the database's rows and the compose file from the latest "
          "backup, and checks pg_isready and the instance count",
          "[docker][e2e]") {
  Stack s;
  s.up_and_seed();
  auto good = s.state();
  auto backup = s.rollback("backup");
  REQUIRE(backup.exit_code == 0);
  auto made = s.targets("staging-");
  REQUIRE(made.size() == 1);
  for (const char* f : {"docker-compose.yml", ".env.staging", "data.tar.zst", "pgdata.tar.zst", "manifest.json", "SHA256SUMS"})
    CHECK(fs::exists(made[0] / f));

  s.break_it();
  REQUIRE(s.state() != good);
  auto quick = s.rollback("quick", {"--target", "latest", "--yes", "--reason", "e2e"});
  REQUIRE(quick.exit_code == 0);
  CHECK(s.state() == good);
  CHECK(s.running("api"));
  CHECK(s.running("store"));
  CHECK(s.running("postgres"));
  CHECK_THAT(quick.out, Catch::Contains("report"));
  auto report = testing::read_text(testing::report_path_of(quick.out));
  CHECK_THAT(report, Catch::Contains("pg_isready") && Catch::Contains("count: 2 [OK]"));
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
  fs::resize_file(target / "data.tar.zst", fs::file_size(target / "data.tar.zst") / 2);
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
