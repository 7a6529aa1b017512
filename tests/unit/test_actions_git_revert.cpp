// git.revert's commands, seen through a recording fake runner: argv only, a lease on every
// history-rewriting push, never a bare force.
#include <catch2/catch.hpp>

#include <rollback/actions/git.hpp>
#include <rollback/proc/runner.hpp>

namespace {

using nlohmann::json;
using rollback::actions::ActionContext;
using rollback::actions::Params;

const std::string kHead = "cccccccccccccccccccccccccccccccccccccccc";
const std::string kTo = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

// Answers like git in a clean clone on main whose origin/main is at kHead.
class RecordingGit : public rollback::proc::Runner {
 public:
  std::vector<std::vector<std::string>> calls;
  rollback::Result<rollback::proc::Completed> run(const rollback::proc::Command& command) override {
    calls.push_back(command.argv);
    rollback::proc::Completed done;
    done.exit_code = 0;
    const auto& a = command.argv;
    auto has = [&](const std::string& word) { return std::find(a.begin(), a.end(), word) != a.end(); };
    if (has("--is-inside-work-tree")) done.out = "true\n";
    else if (has("symbolic-ref")) done.out = "main\n";
    else if (has("HEAD^{commit}")) done.out = (reset_done ? kTo : kHead) + "\n";
    else if (has("refs/remotes/origin/main^{commit}")) done.out = kHead + "\n";  // fetched tip
    else if (has("--verify")) done.out = kTo + "\n";
    else if (has("show")) done.out = "1700000000\x1fsubject\n";
    else if (has("reset")) reset_done = true;
    return done;
  }
  bool reset_done = false;
};

}  // namespace

TEST_CASE("git.revert pushes a reset only with a lease on the tip seen at preflight, never with -f") {
  RecordingGit git;
  ActionContext ctx{"revert", git, [](const std::string&, const std::string&) {}, [](std::string_view) {}};
  auto action = rollback::actions::git::revert_action();
  Params p(json{{"repo", "/"}, {"to", "HEAD~1"}, {"push", true}});
  REQUIRE(action.preflight(ctx, p).ok);
  auto done = action.run(ctx, p);
  INFO(done.message);
  REQUIRE(done.ok);
  bool pushed = false;
  for (const auto& argv : git.calls) {
    REQUIRE(argv.at(0) == "git");  // a program and its arguments, never /bin/sh -c
    for (const auto& arg : argv) {
      CHECK(arg != "-f");
      CHECK(arg != "--force");
    }
    if (std::find(argv.begin(), argv.end(), "push") != argv.end()) {
      pushed = true;
      CHECK(std::find(argv.begin(), argv.end(), "--force-with-lease=refs/heads/main:" + kHead) != argv.end());
      CHECK(argv.back() == kTo + ":refs/heads/main");
    }
  }
  CHECK(pushed);
}

TEST_CASE("git.revert's dry-run line names the lease and the target") {
  auto action = rollback::actions::git::revert_action();
  auto line = action.describe(Params(json{{"repo", "/srv/app"}, {"to", "v1.2"}, {"push", json{{"remote", "upstream"}}}}));
  CHECK_THAT(line, Catch::Contains("git reset --hard v1.2") && Catch::Contains("--force-with-lease") &&
                       Catch::Contains("upstream"));
  auto revert = action.describe(Params(json{{"repo", "/srv/app"}, {"to", "v1.2"}, {"mode", "revert"}}));
  CHECK_THAT(revert, Catch::Contains("revert --no-edit v1.2..HEAD") && Catch::Contains("no push"));
}
