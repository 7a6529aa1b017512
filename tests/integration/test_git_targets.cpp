// The `from: git` target source against a real repository.
#include <catch2/catch.hpp>

#include <rollback/actions/git.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/proc/runner.hpp>

#include "support/temp_dir.hpp"

namespace {

std::string git(const std::filesystem::path& dir, std::vector<std::string> args) {
  std::vector<std::string> argv{"git", "-C", dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::run_program(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

struct Repo {
  testing::TempDir tmp;
  std::filesystem::path work = tmp / "work";
  Repo() {
    if (!rollback::proc::program_available("git")) testing::skip("git is not installed");
    git(tmp.path(), {"init", "--quiet", "-b", "main", work.string()});
    git(work, {"config", "user.name", "Rollback Test"});
    git(work, {"config", "user.email", "rollback@example.invalid"});
    for (int i = 1; i <= 3; ++i) {
      testing::write_text(work / "app.txt", std::to_string(i));
      git(work, {"add", "app.txt"});
      // Distinct commit dates, so "newest first" is meaningful.
      rollback::proc::SystemRunner runner;
      rollback::proc::Command commit;
      commit.argv = {"git", "-C", work.string(), "commit", "--quiet", "-m", "deploy " + std::to_string(i)};
      commit.env["GIT_COMMITTER_DATE"] = "2026-11-2" + std::to_string(i) + "T10:00:00Z";
      auto done = runner.run(commit);
      REQUIRE((done && done->succeeded()));
      git(work, {"tag", "-a", "v1." + std::to_string(i), "-m", "release 1." + std::to_string(i)});
    }
  }
};

}  // namespace

TEST_CASE("the git target source lists commits newest first with HEAD current and HEAD~1 next") {
  Repo r;
  rollback::proc::SystemRunner runner;
  auto targets = rollback::actions::git::list_targets(runner, r.work.string(), "main", "");
  REQUIRE(targets);
  REQUIRE(targets->size() == 3);
  CHECK((*targets)[0].current);
  CHECK((*targets)[0].name == git(r.work, {"rev-parse", "HEAD"}).substr(0, 12));
  CHECK((*targets)[0].detail == "deploy 3");
  // `previous` = the newest target older than the current one = HEAD~1.
  CHECK_FALSE((*targets)[1].current);
  CHECK((*targets)[1].name == git(r.work, {"rev-parse", "HEAD~1"}).substr(0, 12));
  CHECK((*targets)[0].created > (*targets)[1].created);
}

TEST_CASE("the git target source lists matching tags when asked for tags") {
  Repo r;
  rollback::proc::SystemRunner runner;
  auto targets = rollback::actions::git::list_targets(runner, r.work.string(), "", "v1.*");
  REQUIRE(targets);
  REQUIRE(targets->size() == 3);
  bool v13_current = false;
  for (const auto& t : *targets) {
    if (t.name == "v1.3") v13_current = t.current;
    if (t.name == "v1.1") CHECK_FALSE(t.current);
  }
  CHECK(v13_current);
}

TEST_CASE("the git target source resolves ${vars} in its with: section") {
  Repo r;
  rollback::plan::TargetSpec spec;
  spec.from = "git";
  spec.with = YAML::Load("{repo: '${app_repo}', ref: main, limit: 2}");
  rollback::plan::Scope scope;
  scope.set_var("app_repo", r.work.string());
  auto targets = rollback::actions::git::list_from_spec(spec, scope);
  INFO((targets ? "" : targets.error().message));
  REQUIRE(targets);
  CHECK(targets->size() == 2);

  spec.with = YAML::Load("{repo: '" + (r.tmp / "nope").string() + "'}");
  CHECK_FALSE(rollback::actions::git::list_from_spec(spec, scope));
}
