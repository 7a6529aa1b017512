// Which backups are good and which may go (issue 22), on the demo stack and the real engine:
// one proof for `targets`, --target, preflight and retention; atomic backups; retention
// that keeps what `resume` would continue.
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "cli_spawn.hpp"
#include "docker_stack.hpp"

namespace fs = std::filesystem;
using dockertest::source;
using dockertest::Stack;

namespace {

// plans/backup.yaml with another keep.
fs::path backup_plan_keeping(const Stack& s, int keep) {
  auto text = testing::read_text(source("plans/backup.yaml"));
  auto at = text.find("keep: 7");
  REQUIRE(at != std::string::npos);
  text.replace(at, 7, fmt::format("keep: {}", keep));
  auto path = s.dir / "plans" / "backup.yaml";
  testing::write_text(path, text);
  return path;
}

// A rollback plan over the demo's backups that fails at its second step until `flag` exists.
fs::path failing_plan(const Stack& s, const fs::path& flag) {
  auto path = s.dir / "plans" / "restore-then-fail.yaml";
  testing::write_text(path, fmt::format(R"(version: 1
name: restore-then-fail
vars:
  backups: /backups
target:
  from: dir
  dir: ${{backups}}
  glob: staging-*
  require: [pgdata.tar.zst]
steps:
  - {{id: first, action: exec.run, destructive: true, with: {{argv: ["true"]}}}}
  - {{id: second, action: exec.run, destructive: true, with: {{argv: [test, -f, "{}"]}}}}
)",
                                        flag.string()));
  return path;
}

std::string line_of(const std::string& out, const std::string& name) {
  auto at = out.find(name);
  if (at == std::string::npos) return "";
  auto end = out.find('\n', at);
  return out.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace

TEST_CASE("a failed run's target survives a backup with keep 1, and the run then resumes on it", "[docker][targets]") {
  Stack s;
  s.up_and_seed();
  auto keep1 = backup_plan_keeping(s, 1);
  REQUIRE(s.rollback(keep1.string()).exit_code == 0);
  auto first = s.targets("staging-").at(0).filename().string();

  auto flag = s.dir / "flag";
  auto failing = failing_plan(s, flag);
  const auto state = (s.dir / "state").string();
  auto failed = testing::run_rollback({"--state-dir", state, failing.string(), "--var", "backups=" + s.backups.string(),
                                       "--target", first, "--yes"});
  INFO(failed.out << failed.err);
  REQUIRE(failed.exit_code == 1);

  std::this_thread::sleep_for(std::chrono::seconds(1));  // a new ${run.started}
  REQUIRE(s.rollback(keep1.string()).exit_code == 0);
  CHECK(fs::exists(s.backups / first));  // kept: the failed run that `resume` continues names it
  auto listed = s.command("targets", keep1.string());
  CHECK_THAT(line_of(listed.out, first), Catch::Contains("named_by_run"));

  testing::write_text(flag, "now it passes\n");
  auto resumed = testing::run_rollback({"--state-dir", state, "resume", "--yes"});
  INFO(resumed.out << resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("resuming run"));
}

TEST_CASE("a truncated archive that no SHA256SUMS lists never verifies, latest passes it over, and retention keeps "
          "the good backup",
          "[docker][targets]") {
  Stack s;
  s.up_and_seed();
  auto keep1 = backup_plan_keeping(s, 1);
  REQUIRE(s.rollback(keep1.string()).exit_code == 0);
  auto good = s.targets("staging-").at(0);
  // A newer folder with the same files, its checksums gone and its database archive cut.
  auto bad = s.backups / "staging-99990101T000000Z";
  fs::copy(good, bad, fs::copy_options::recursive);
  fs::remove(bad / "SHA256SUMS");
  fs::remove(bad / "manifest.json");
  fs::resize_file(bad / "pgdata.tar.zst", fs::file_size(bad / "pgdata.tar.zst") / 2);
  fs::last_write_time(bad, fs::file_time_type::clock::now() + std::chrono::hours(1));

  auto listed = s.command("targets", "quick");
  CHECK_THAT(line_of(listed.out, bad.filename().string()), Catch::Contains("NO") && Catch::Contains("pgdata.tar.zst"));
  CHECK_THAT(line_of(listed.out, good.filename().string()), Catch::Contains("yes"));

  auto dry = s.rollback("quick", {"--target", "latest", "--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.err, Catch::Contains("passed over " + bad.filename().string()));
  auto refused = s.rollback("quick", {"--target", bad.filename().string(), "--dry-run"});
  CHECK(refused.exit_code == 4);

  // keep 1 after another backup: the bad one is beyond it by age only if something newer
  // verifies; the good one must survive as long as it is the newest that verifies.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  REQUIRE(s.rollback(keep1.string()).exit_code == 0);
  auto left = s.targets("staging-");
  size_t verifying = 0;
  for (const auto& t : left)
    if (t != bad) ++verifying;
  CHECK(verifying >= 1);
}

TEST_CASE("a backup killed mid-archive is incomplete, never latest, and the next backup removes it",
          "[docker][targets]") {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto good = s.targets("staging-").at(0).filename().string();
  // Enough data that archiving it takes a while.
  s.sql("CREATE TABLE bulk AS SELECT g, md5(g::text) || md5((g*7)::text) AS filler FROM generate_series(1, 400000) g");

  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto bg = cli_test::spawn_rollback(s.args("backup", {"--yes"}), s.dir.path(), "killed-backup");
  fs::path partial;
  for (int i = 0; i < 1200 && partial.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    for (const auto& e : fs::directory_iterator(s.backups))
      if (e.path().filename().string().starts_with(".incomplete-") && fs::exists(e.path() / ".env.staging"))
        partial = e.path();
  }
  REQUIRE_FALSE(partial.empty());
  ::kill(bg.pid, SIGKILL);
  cli_test::wait_exit(bg.pid, std::chrono::seconds(10));
  CHECK(s.targets("staging-").size() == 1);  // nothing under a name the glob matches

  auto listed = s.command("targets", "quick");
  CHECK_THAT(listed.out, Catch::Contains("INCOMPLETE"));
  auto dry = s.rollback("quick", {"--target", "latest", "--dry-run"});
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains(good));

  REQUIRE(s.rollback("backup").exit_code == 0);
  CHECK_FALSE(fs::exists(partial));
  CHECK(s.targets("staging-").size() == 2);
}
