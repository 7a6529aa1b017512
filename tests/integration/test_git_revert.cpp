// git.revert against real git: a bare "origin" and a clone with three deploy commits.
#include <catch2/catch.hpp>

#include <map>

#include <rollback/actions/git.hpp>
#include <rollback/proc/runner.hpp>

#include "support/temp_dir.hpp"

namespace {

using rollback::actions::ActionContext;
using rollback::actions::Outcome;
using rollback::actions::Params;
using nlohmann::json;

std::string git(const std::filesystem::path& dir, std::vector<std::string> args) {
  std::vector<std::string> argv{"git", "-C", dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::run_program(argv);
  INFO("git " << args.front() << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  auto out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

struct Repos {
  testing::TempDir tmp;
  std::filesystem::path origin = tmp / "origin.git";
  std::filesystem::path work = tmp / "work";
  std::vector<std::string> deploys;  // shas, oldest first

  Repos() {
    if (!rollback::proc::program_available("git")) testing::skip("git is not installed");
    git(tmp.path(), {"init", "--quiet", "--bare", "-b", "main", origin.string()});
    git(tmp.path(), {"clone", "--quiet", origin.string(), work.string()});
    configure(work);
    for (int i = 1; i <= 3; ++i) {
      testing::write_text(work / "app.txt", "version " + std::to_string(i) + "\n");
      git(work, {"add", "app.txt"});
      git(work, {"commit", "--quiet", "-m", "deploy " + std::to_string(i)});
      deploys.push_back(git(work, {"rev-parse", "HEAD"}));
    }
    git(work, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
    git(work, {"branch", "--quiet", "--set-upstream-to=origin/main"});
  }
  static void configure(const std::filesystem::path& dir) {
    git(dir, {"config", "user.name", "Rollback Test"});
    git(dir, {"config", "user.email", "rollback@example.invalid"});
    git(dir, {"checkout", "--quiet", "-B", "main"});
  }
  std::string origin_main() { return git(origin, {"rev-parse", "refs/heads/main"}); }
  std::string head() { return git(work, {"rev-parse", "HEAD"}); }
};

// A colleague's clone pushes a hotfix commit on top of origin's main; returns its sha.
std::string colleague_pushes_hotfix(Repos& r) {
  auto other = r.tmp / "other";
  git(r.tmp.path(), {"clone", "--quiet", r.origin.string(), other.string()});
  Repos::configure(other);
  git(other, {"reset", "--quiet", "--hard", "origin/main"});
  testing::write_text(other / "hotfix.txt", "fix\n");
  git(other, {"add", "hotfix.txt"});
  git(other, {"commit", "--quiet", "-m", "c6-hotfix"});
  git(other, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
  return git(other, {"rev-parse", "HEAD"});
}

struct Ctx {
  rollback::proc::SystemRunner runner;
  std::map<std::string, std::string> vars;
  std::vector<std::string> logs;
  ActionContext ctx{"git", runner, [this](const std::string& k, const std::string& v) { vars[k] = v; },
                    [this](std::string_view l) { logs.emplace_back(l); }};
};

const rollback::actions::Action& revert() {
  static auto a = rollback::actions::git::revert_action();
  return a;
}

}  // namespace

TEST_CASE("git.revert in reset mode moves origin's main back to the chosen commit") {
  Repos r;
  Ctx c;
  Params p(json{{"repo", r.work.string()}, {"to", "HEAD~1"}, {"mode", "reset"}, {"push", true}});
  auto pre = revert().preflight(c.ctx, p);
  INFO(pre.message);
  REQUIRE(pre.ok);
  auto done = revert().run(c.ctx, p);
  INFO(done.message);
  REQUIRE(done.ok);
  CHECK(r.origin_main() == r.deploys[1]);
  CHECK(r.head() == r.deploys[1]);
  CHECK(done.data["pushed"] == true);
  CHECK(done.data["from_commit"] == r.deploys[2]);
  CHECK(done.data["to_subject"] == "deploy 2");
  CHECK(c.vars["from_version"] == r.deploys[2].substr(0, 12) + " (deploy 3)");
  CHECK(c.vars["to_version"] == r.deploys[1].substr(0, 12) + " (deploy 2)");
  bool leased = false;
  for (const auto& l : c.logs) leased = leased || l.find("--force-with-lease") != std::string::npos;
  CHECK(leased);
}

TEST_CASE("git.revert refuses to push when origin moved since preflight and leaves origin untouched") {
  Repos r;
  Ctx c;
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[0]}, {"push", json{{"remote", "origin"}, {"branch", "main"}}}});
  REQUIRE(revert().preflight(c.ctx, p).ok);

  // A colleague pushes a hotfix between preflight and run.
  auto other = r.tmp / "other";
  git(r.tmp.path(), {"clone", "--quiet", r.origin.string(), other.string()});
  Repos::configure(other);
  git(other, {"reset", "--quiet", "--hard", "origin/main"});
  testing::write_text(other / "hotfix.txt", "fix\n");
  git(other, {"add", "hotfix.txt"});
  git(other, {"commit", "--quiet", "-m", "hotfix"});
  git(other, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
  auto hotfix = git(other, {"rev-parse", "HEAD"});

  auto done = revert().run(c.ctx, p);
  REQUIRE_FALSE(done.ok);
  CHECK_THAT(done.message, Catch::Contains("origin/main moved since preflight: expected " + r.deploys[2].substr(0, 12) +
                                           ", found " + hotfix.substr(0, 12) + "; nothing was pushed"));
  CHECK(r.origin_main() == hotfix);
  CHECK(r.head() == r.deploys[2]);
}

TEST_CASE("git.revert in revert mode adds revert commits and pushes them without force") {
  Repos r;
  Ctx c;
  Params p(json{{"repo", r.work.string()}, {"to", "HEAD~2"}, {"mode", "revert"}, {"push", true}});
  REQUIRE(revert().preflight(c.ctx, p).ok);
  auto done = revert().run(c.ctx, p);
  INFO(done.message);
  REQUIRE(done.ok);
  CHECK(git(r.work, {"rev-list", "--count", "HEAD"}) == "5");
  CHECK(git(r.work, {"rev-parse", "HEAD^{tree}"}) == git(r.work, {"rev-parse", r.deploys[0] + "^{tree}"}));
  CHECK(r.origin_main() == r.head());
  CHECK_THAT(git(r.work, {"log", "-1", "--format=%s"}), Catch::StartsWith("Revert"));
  for (const auto& l : c.logs) CHECK(l.find("force") == std::string::npos);
}

TEST_CASE("git.revert refuses a dirty work tree before anything changes") {
  Repos r;
  Ctx c;
  testing::write_text(r.work / "app.txt", "local edit\n");
  testing::write_text(r.work / "notes.txt", "untracked\n");
  Params p(json{{"repo", r.work.string()}, {"to", "HEAD~1"}, {"push", true}});
  auto pre = revert().preflight(c.ctx, p);
  REQUIRE_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::Contains("uncommitted changes") && Catch::Contains("app.txt") &&
                              Catch::Contains("notes.txt"));
  auto done = revert().run(c.ctx, p);
  REQUIRE_FALSE(done.ok);
  CHECK(r.head() == r.deploys[2]);
  CHECK(r.origin_main() == r.deploys[2]);
  CHECK(testing::read_text(r.work / "app.txt") == "local edit\n");
}

TEST_CASE("git.revert preflight refuses a target that is not a commit of the repo") {
  Repos r;
  Ctx c;
  Params p(json{{"repo", r.work.string()}, {"to", "v9.9.9"}});
  auto pre = revert().preflight(c.ctx, p);
  REQUIRE_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::Contains("with.to") && Catch::Contains("v9.9.9"));
  Params dash(json{{"repo", r.work.string()}, {"to", "--output=/tmp/x"}});
  CHECK_FALSE(revert().preflight(c.ctx, dash).ok);
}

TEST_CASE("git.revert refuses to revert a range holding a merge commit") {
  Repos r;
  Ctx c;
  git(r.work, {"checkout", "--quiet", "-b", "feature", r.deploys[1]});
  testing::write_text(r.work / "feature.txt", "f\n");
  git(r.work, {"add", "feature.txt"});
  git(r.work, {"commit", "--quiet", "-m", "feature"});
  git(r.work, {"checkout", "--quiet", "main"});
  git(r.work, {"merge", "--quiet", "--no-ff", "-m", "merge feature", "feature"});
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[0]}, {"mode", "revert"}});
  auto pre = revert().preflight(c.ctx, p);
  REQUIRE_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::Contains("merge commit"));
}

TEST_CASE("git.current records the commit HEAD is at") {
  Repos r;
  Ctx c;
  auto current = rollback::actions::git::current_action();
  auto done = current.run(c.ctx, Params(json{{"repo", r.work.string()}, {"into", "deployed_commit"}}));
  REQUIRE(done.ok);
  CHECK(c.vars["deployed_commit"] == r.deploys[2]);
}

TEST_CASE("git.revert's push carries the lease, so a push racing the rollback is never overwritten") {
  Repos r;
  Ctx c;
  auto other = r.tmp / "other";
  git(r.tmp.path(), {"clone", "--quiet", r.origin.string(), other.string()});
  Repos::configure(other);
  git(other, {"reset", "--quiet", "--hard", "origin/main"});
  testing::write_text(other / "hotfix.txt", "fix\n");
  git(other, {"add", "hotfix.txt"});
  git(other, {"commit", "--quiet", "-m", "hotfix"});
  auto hotfix = git(other, {"rev-parse", "HEAD"});
  // The colleague's push lands after our run checked the remote, while our push is starting.
  auto hook = r.work / ".git" / "hooks" / "pre-push";
  testing::write_text(hook, "#!/bin/sh\nrm -f \"$0\"\nenv -u GIT_DIR -u GIT_INDEX_FILE git -C '" + other.string() +
                                "' push --quiet origin HEAD:refs/heads/main >/dev/null 2>&1\nexit 0\n");
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all);

  Params p(json{{"repo", r.work.string()}, {"to", "HEAD~2"}, {"push", true}});
  REQUIRE(revert().preflight(c.ctx, p).ok);
  auto done = revert().run(c.ctx, p);
  INFO(done.message);
  REQUIRE_FALSE(done.ok);
  CHECK_THAT(done.message, Catch::Contains("origin/main moved since preflight") &&
                               Catch::Contains("found " + hotfix.substr(0, 12)) &&
                               Catch::Contains("nothing was pushed") && Catch::Contains("local branch is back at"));
  CHECK(r.origin_main() == hotfix);
  CHECK(r.head() == r.deploys[2]);
}

TEST_CASE("git.revert run again after a completed reset changes nothing and pushes nothing") {
  Repos r;
  Ctx c;
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[1]}, {"push", true}});
  REQUIRE(revert().preflight(c.ctx, p).ok);
  REQUIRE(revert().run(c.ctx, p).ok);
  Ctx again;
  auto second = revert().run(again.ctx, p);
  INFO(second.message);
  REQUIRE(second.ok);
  CHECK(second.data["pushed"] == false);
  CHECK_THAT(second.message, Catch::Contains("already there"));
  CHECK(r.origin_main() == r.deploys[1]);
}

TEST_CASE("git.revert refuses a reset when origin holds a pushed commit the deployed clone lacks, naming it") {
  Repos r;
  Ctx c;
  auto hotfix = colleague_pushes_hotfix(r);
  Params p(json{{"repo", r.work.string()}, {"to", "HEAD~1"}, {"push", true}});
  auto pre = revert().preflight(c.ctx, p);
  INFO(pre.message);
  REQUIRE_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::Contains("origin/main has 1 commit(s) that the deployed commit " + r.deploys[2].substr(0, 12)) &&
                              Catch::Contains("c6-hotfix") && Catch::Contains("mode: revert"));
  auto run = revert().run(c.ctx, p);  // the run checks again on its own
  REQUIRE_FALSE(run.ok);
  CHECK(r.origin_main() == hotfix);
  CHECK(r.head() == r.deploys[2]);
}

TEST_CASE("git.revert refuses a clone that is behind the commit backup-git-sql recorded as deployed") {
  Repos r;
  Ctx c;
  git(r.work, {"reset", "--quiet", "--hard", r.deploys[1]});  // a stale clone: deploy 3 ran from elsewhere
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[0]}, {"deployed", r.deploys[2]}});
  auto pre = revert().preflight(c.ctx, p);
  INFO(pre.message);
  REQUIRE_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::Contains("does not contain " + r.deploys[2].substr(0, 12)) &&
                              Catch::Contains("the commit recorded as deployed") && Catch::Contains("Nothing was changed"));
  CHECK(r.head() == r.deploys[1]);
  Params current(json{{"repo", r.work.string()}, {"to", r.deploys[0]}, {"deployed", r.deploys[1]}});
  CHECK(revert().preflight(c.ctx, current).ok);
}

TEST_CASE("git.revert in revert mode keeps a colleague's pushed commit and undoes only the deployed range") {
  Repos r;
  Ctx c;
  auto hotfix = colleague_pushes_hotfix(r);
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[1]}, {"mode", "revert"}, {"push", true}});
  auto pre = revert().preflight(c.ctx, p);
  INFO(pre.message);
  REQUIRE(pre.ok);
  auto done = revert().run(c.ctx, p);
  INFO(done.message);
  REQUIRE(done.ok);
  auto tip = r.origin_main();
  CHECK(git(r.origin, {"merge-base", "--is-ancestor", hotfix, tip}).empty());  // the hotfix is kept
  CHECK(git(r.origin, {"show", tip + ":app.txt"}) == "version 2");
  CHECK(git(r.origin, {"show", tip + ":hotfix.txt"}) == "fix");
}

TEST_CASE("a resumed git.revert leases on the commit its journal noted, not on what origin holds now") {
  Repos r;
  Ctx c;
  std::map<std::string, std::string> noted;
  c.ctx.note = [&](const std::string& k, const std::string& v) { noted[k] = v; };
  c.ctx.notes["lease"] = r.deploys[2];  // what the interrupted run saw and noted
  auto hotfix = colleague_pushes_hotfix(r);
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[0]}, {"push", true}});
  auto done = revert().run(c.ctx, p);  // no preflight in this process, as in `resume`
  INFO(done.message);
  REQUIRE_FALSE(done.ok);
  CHECK_THAT(done.message, Catch::Contains("moved since preflight: expected " + r.deploys[2].substr(0, 12)) &&
                               Catch::Contains("c6-hotfix") && Catch::Contains("nothing was pushed"));
  CHECK(r.origin_main() == hotfix);

  Repos fresh;
  Ctx d;
  d.ctx.note = [&](const std::string& k, const std::string& v) { noted[k] = v; };
  Params q(json{{"repo", fresh.work.string()}, {"to", fresh.deploys[0]}, {"push", true}});
  REQUIRE(revert().run(d.ctx, q).ok);
  CHECK(noted["lease"] == fresh.deploys[2]);  // journaled before the push
}

TEST_CASE(
    "git.revert whose push lands but is not answered before the deadline says the result is "
    "unknown and how "
    "to check it",
    "[git][unknown]") {
  Repos r;
  Ctx c;
  // The remote moves the ref, then takes its time to say so: the answer the push waits for
  // comes after the step's deadline.
  auto hook = r.origin / "hooks" / "reference-transaction";
  testing::write_text(hook, "#!/bin/sh\n[ \"$1\" = committed ] && sleep 6\nexit 0\n");
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all);
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[1]}, {"push", true}});
  REQUIRE(revert().preflight(c.ctx, p).ok);
  c.ctx.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto done = revert().run(c.ctx, p);
  INFO(done.message);
  REQUIRE_FALSE(done.ok);
  CHECK_FALSE(done.transient);
  REQUIRE(done.data.contains("failure_left_changes"));
  CHECK(done.data["pushed"] == "unknown");
  CHECK_THAT(done.message,
             Catch::Contains("result unknown") &&
                 Catch::Contains("ls-remote origin refs/heads/main`: " + r.deploys[1] +
                                 " means the push landed, " + r.deploys[2] + " that it did not"));
  CHECK(r.origin_main() == r.deploys[1]);  // it did land, although git push never said so
  CHECK(r.head() == r.deploys[1]);         // the clone stays at what was pushed
}

TEST_CASE(
    "git.revert whose push the remote rejects changed nothing: a plain failure, the clone put back",
    "[git][unknown]") {
  Repos r;
  Ctx c;
  auto hook = r.origin / "hooks" / "pre-receive";
  testing::write_text(hook, "#!/bin/sh\necho 'main is protected' >&2\nexit 1\n");
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all);
  Params p(json{{"repo", r.work.string()}, {"to", r.deploys[1]}, {"push", true}});
  REQUIRE(revert().preflight(c.ctx, p).ok);
  auto done = revert().run(c.ctx, p);
  INFO(done.message);
  REQUIRE_FALSE(done.ok);
  CHECK_FALSE(done.data.contains("failure_left_changes"));
  CHECK_THAT(done.message, Catch::Contains("nothing was pushed") &&
                               Catch::Contains("[remote rejected]") &&
                               Catch::Contains("main is protected") &&
                               Catch::Contains("local branch is back at"));
  CHECK(r.origin_main() == r.deploys[2]);
  CHECK(r.head() == r.deploys[2]);
}
