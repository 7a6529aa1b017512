// `rollback targets` tells the truth (issue 14): every shipped plan that has a target, listed
// with the vars a run would use (examples/staging/vars.yaml, --var, run.*, ${target.*}), says
// `yes` for a fresh backup and `NO` with the reason for a damaged one, in the table and in
// --json alike.
#include <filesystem>

#include "docker_stack.hpp"
#include "support/fake_coolify.hpp"
#include "targets_table.hpp"

namespace fs = std::filesystem;
using dockertest::source;
using dockertest::Stack;

namespace {

// `rollback targets PLAN` with the demo's vars file and the test stack's overrides.
testing::CommandResult targets(const Stack& s, const std::string& plan, bool json = false) {
  auto run_args = s.args(plan);
  std::vector<std::string> argv{"targets"};
  for (size_t i = 0; i < run_args.size(); ++i) {
    if (run_args[i] == "--operator") {  // a run's option, not a listing's
      ++i;
      continue;
    }
    argv.push_back(run_args[i]);
  }
  argv.insert(argv.end(), {"--vars", source("examples/staging/vars.yaml").string()});
  if (json) argv.insert(argv.begin(), "--json");
  auto r = testing::run_rollback(argv);
  UNSCOPED_INFO("targets " << plan << " exit " << r.exit_code << "\n" << r.out << r.err);
  return r;
}

}  // namespace

TEST_CASE("targets of quick, full and emergency say yes for a fresh backup and NO naming a missing archive, "
          "in the table and in --json",
          "[docker][e2e][targets]") {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  REQUIRE(s.rollback("backup", {"--var", "backup_name=emergency-stable"}).exit_code == 0);
  auto fresh = s.targets("staging-").at(0).filename().string();
  // An older backup missing its database archive.
  auto damaged = s.backups / "staging-20250101-000000";
  fs::copy(s.backups / fresh, damaged, fs::copy_options::recursive);
  fs::remove(damaged / "pgdata.tar.zst");
  for (const auto& aged : {damaged / "SHA256SUMS", damaged})  // sealed a day before the fresh one
    fs::last_write_time(aged, fs::last_write_time(s.backups / fresh / "SHA256SUMS") - std::chrono::hours(24));

  for (const char* plan : {"quick", "full"}) {
    INFO("plan " << plan);
    auto table = targets(s, plan);
    REQUIRE(table.exit_code == 0);
    CHECK(targetstest::verdict(table.out, fresh) == "yes");
    CHECK(targetstest::verdict(table.out, damaged.filename().string()) == "NO");
    CHECK_THAT(targetstest::row(table.out, damaged.filename().string()), Catch::Contains("missing pgdata.tar.zst"));
    CHECK_THAT(table.out + table.err, !Catch::Contains("undefined variable"));
    auto json = targets(s, plan, true);
    REQUIRE(json.exit_code == 0);
    auto verdicts = targetstest::json_verdicts(json.out);
    CHECK(verdicts[fresh]);
    CHECK_FALSE(verdicts[damaged.filename().string()]);
    CHECK_THAT(json.out, Catch::Contains("missing pgdata.tar.zst"));
  }
  auto emergency = targets(s, "emergency");
  REQUIRE(emergency.exit_code == 0);
  CHECK(targetstest::verdict(emergency.out, "emergency-stable") == "yes");
  CHECK(targetstest::json_verdicts(targets(s, "emergency", true).out)["emergency-stable"]);
}

TEST_CASE("targets of the coolify plan lists the deployments, and rehearsing it exits 4: nothing to rehearse",
          "[targets][rehearse][coolify]") {
  testing::FakeCoolify fake;
  fake.set_deployments({{"dep-2", std::string(40, 'b'), "broken", "finished"},
                        {"dep-1", std::string(40, 'a'), "stable", "finished"}});
  testing::TempDir tmp;
  ::setenv("COOLIFY_TOKEN", "fake-token-s3cr3t", 1);
  std::vector<std::string> common{"--plans-dir", source("plans").string(), "--state-dir", (tmp / "state").string(),
                                  "--var", "coolify_url=" + fake.url(), "--var",
                                  std::string("application=") + testing::FakeCoolify::kApp};
  auto listed = testing::run_rollback([&] {
    std::vector<std::string> a{"targets", "coolify"};
    a.insert(a.end(), common.begin(), common.end());
    return a;
  }());
  INFO(listed.out << listed.err);
  REQUIRE(listed.exit_code == 0);
  CHECK(targetstest::verdict(listed.out, "dep-1") == "yes");
  auto rehearsed = testing::run_rollback([&] {
    std::vector<std::string> a{"rehearse", "coolify", "--target", "previous"};
    a.insert(a.end(), common.begin(), common.end());
    return a;
  }());
  INFO(rehearsed.out << rehearsed.err);
  CHECK(rehearsed.exit_code == 4);
  CHECK_THAT(rehearsed.out + rehearsed.err, Catch::Contains("nothing to rehearse"));
  for (const auto& request : fake.requests()) CHECK(request.method == "GET");  // nothing was asked of Coolify
}
