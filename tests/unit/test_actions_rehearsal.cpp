// The rehearsal's map from production to throwaway copies (actions/rehearsal.hpp), without
// an engine: which steps run and how their params are pointed at the copies.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <stdexcept>

#include <rollback/actions/http.hpp>
#include <rollback/actions/rehearsal.hpp>
#include <rollback/plan/loader.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;
using actions::Params;
using actions::Rehearsal;
using actions::Rehearsed;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  testing::TempDir tmp;
  proc::SystemRunner runner;
  actions::ActionContext ctx{.step_id = "s", .runner = runner, .set_var = {}, .log = [](std::string_view) {}};
  Rehearsal rehearsal{"20250127-180000-quick-3f2a", (tmp / "state").string()};
  const actions::Action& action(const std::string& name) { return *actions::builtin_registry().find(name); }
  Result<Rehearsed> step(plan::Phase phase, const std::string& name, nlohmann::json params) {
    plan::Step step;
    step.phase = phase;
    return actions::rehearse_step(rehearsal, step, action(name), ctx, Params(std::move(params)));
  }
};

}  // namespace

TEST_CASE("a rehearsal skips backup, stop and notify steps and runs read-only assess steps as written",
          "[actions][rehearse]") {
  Fixture f;
  auto stop = f.step(plan::Phase::Stop, "docker.compose", {{"dir", "/srv"}, {"command", "down"}});
  REQUIRE(stop);
  CHECK(stop->kind == Rehearsed::Kind::Skip);
  CHECK_THAT(stop->note, Catch::Contains("a stop step"));
  auto backup = f.step(plan::Phase::Backup, "fs.copy", {{"from", "/a"}, {"to", "/b"}});
  CHECK(backup->kind == Rehearsed::Kind::Skip);
  auto assess = f.step(plan::Phase::Assess, "http.probe", {{"url", "http://127.0.0.1:8080/"}});
  REQUIRE(assess->kind == Rehearsed::Kind::Run);
  CHECK(assess->params.str("url") == "http://127.0.0.1:8080/");
}

TEST_CASE("a verify step comparing the copies with a value an assess step read from production is skipped and "
          "named, and one that checks the copies alone runs",
          "[actions][rehearse]") {
  Fixture f;
  const auto& probe = f.action("http.probe");
  plan::Step assess{.id = "count-instances", .phase = plan::Phase::Assess, .action = "http.probe"};
  auto counted = actions::rehearse_step(
      f.rehearsal, assess, probe, f.ctx,
      Params(
          nlohmann::json{{"url", "http://127.0.0.1:8080/n"}, {"count", ""}, {"into", "before"}}));
  REQUIRE(counted->kind == Rehearsed::Kind::Run);
  f.rehearsal.planned_restores = 1;  // the target was restored into copies before the verify steps
  f.rehearsal.moved_port(8080, 18080);

  plan::Step compare{
      .id = "verify-instances", .phase = plan::Phase::Verify, .action = "http.probe"};
  compare.with =
      YAML::Load("{url: 'http://127.0.0.1:8080/n', count: '', expect_count: '>= ${before}'}");
  auto skipped = actions::rehearse_step(
      f.rehearsal, compare, probe, f.ctx,
      Params(nlohmann::json{
          {"url", "http://127.0.0.1:8080/n"}, {"count", ""}, {"expect_count", ">= 3"}}));
  REQUIRE(skipped->kind == Rehearsed::Kind::Skip);
  CHECK_THAT(skipped->note,
             Catch::Contains("${before} (step count-instances), read from production"));

  plan::Step gated{
      .id = "gated", .phase = plan::Phase::Verify, .action = "http.probe", .when = "before"};
  gated.with = YAML::Load("{url: 'http://127.0.0.1:8080/n'}");
  CHECK(actions::rehearse_step(f.rehearsal, gated, probe, f.ctx,
                               Params(nlohmann::json{{"url", "http://127.0.0.1:8080/n"}}))
            ->kind == Rehearsed::Kind::Skip);

  plan::Step alone{.id = "verify-api", .phase = plan::Phase::Verify, .action = "http.probe"};
  alone.with = YAML::Load("{url: 'http://127.0.0.1:8080/health'}");
  auto ran =
      actions::rehearse_step(f.rehearsal, alone, probe, f.ctx,
                             Params(nlohmann::json{{"url", "http://127.0.0.1:8080/health"}}));
  REQUIRE(ran->kind == Rehearsed::Kind::Run);
  CHECK(ran->params.str("url") == "http://127.0.0.1:18080/health");
  CHECK(f.rehearsal.summary()["skipped_production_comparisons"] ==
        nlohmann::json{"gated", "verify-instances"});
}

TEST_CASE("an action without a rehearsal behaviour is skipped with a note, never run against production",
          "[actions][rehearse]") {
  Fixture f;
  auto exec = f.step(plan::Phase::Restore, "exec.run", {{"argv", {"true"}}});
  REQUIRE(exec);
  CHECK(exec->kind == Rehearsed::Kind::Skip);
  CHECK_THAT(exec->note, Catch::Contains("exec.run cannot run against copies"));
  auto coolify = f.step(plan::Phase::Restore, "coolify.rollback", {{"url", "https://c"}, {"token", "t"}, {"application", "a"}});
  CHECK(coolify->kind == Rehearsed::Kind::Skip);
  CHECK(f.rehearsal.planned_restores == 0);
}

TEST_CASE("a verify URL follows a port the rehearsal moved, and one it did not move is skipped", "[actions][rehearse]") {
  Fixture f;
  f.rehearsal.restores = f.rehearsal.planned_restores = 1;  // the target was restored into copies before
  f.rehearsal.moved_port(18080, 41234);
  CHECK(actions::http::rehearsal_url(f.rehearsal, "http://127.0.0.1:18080/health?x=1") == "http://127.0.0.1:41234/health?x=1");
  CHECK(actions::http::rehearsal_url(f.rehearsal, "http://localhost:18080") == "http://localhost:41234");
  CHECK_FALSE(actions::http::rehearsal_url(f.rehearsal, "http://127.0.0.1:9999/health"));
  CHECK_FALSE(actions::http::rehearsal_url(f.rehearsal, "https://andrea.example.com:18080/health"));
  auto probe = f.step(plan::Phase::Verify, "http.probe", {{"url", "http://127.0.0.1:18080/health"}});
  REQUIRE(probe->kind == Rehearsed::Kind::Run);
  CHECK(probe->params.str("url") == "http://127.0.0.1:41234/health");
  auto production = f.step(plan::Phase::Verify, "http.probe", {{"url", "https://andrea.example.com/health"}});
  CHECK(production->kind == Rehearsed::Kind::Skip);
  CHECK_THAT(production->note, Catch::Contains("would test production"));
}

TEST_CASE("a verify step with no restore rehearsed before it is skipped: it would check production or nothing",
          "[actions][rehearse]") {
  Fixture f;
  f.rehearsal.moved_port(18080, 41234);
  auto probe = f.step(plan::Phase::Verify, "http.probe", {{"url", "http://127.0.0.1:18080/health"}});
  CHECK(probe->kind == Rehearsed::Kind::Skip);
  CHECK_THAT(probe->note, Catch::Contains("no restore step ran against copies before it"));
}

TEST_CASE("at preflight a rehearsal names its copies but makes none", "[actions][rehearse]") {
  Fixture f;
  testing::write_text(f.tmp / "stack" / "docker-compose.yml", "x");
  auto copy = f.step(plan::Phase::Restore, "fs.copy",
                     {{"from", (f.tmp / "t" / "docker-compose.yml").string()},
                      {"to", (f.tmp / "stack" / "docker-compose.yml").string()}});
  REQUIRE(copy->kind == Rehearsed::Kind::Run);
  CHECK(copy->params.str("to") ==
        (f.rehearsal.dir() / "fs" / fs::path(f.tmp / "stack" / "docker-compose.yml").relative_path()).string());
  auto volume = f.step(plan::Phase::Restore, "docker.volume.restore", {{"volume", "app_data"}, {"archive", "/b/a.tar.gz"}});
  REQUIRE(volume->kind == Rehearsed::Kind::Run);
  CHECK(volume->params.str("volume") == "rbr-20250127-180000-quick-3f2a-app_data");
  CHECK(f.rehearsal.planned_restores == 2);
  CHECK_FALSE(fs::exists(f.rehearsal.dir()));
}

TEST_CASE("a rehearsed git.revert is preflighted on the production clone without its push, and never pushes",
          "[actions][rehearse]") {
  Fixture f;  // for_real is false: the checks before the run, when the clone does not exist yet
  auto revert = f.step(plan::Phase::Restore, "git.revert",
                       {{"repo", "/srv/app"}, {"to", "abc"}, {"push", {{"remote", "origin"}, {"branch", "main"}}}});
  REQUIRE(revert->kind == Rehearsed::Kind::Run);
  CHECK_FALSE(revert->params.has("push"));
  CHECK(revert->params.str("branch") == "main");
  CHECK(revert->params.str("repo") == "/srv/app");  // read-only checks; without the push, not even a fetch
  CHECK_FALSE(fs::exists(f.rehearsal.dir()));
}

TEST_CASE("an adapter defined in one file rehearses through its own copy kind: its copies are recorded, summarized and "
          "removed by it, at the end and after a killed run",
          "[actions][rehearse]") {
  testing::TempDir tmp;
  proc::SystemRunner runner;
  // The adapter: one action whose rehearsal makes a "widget" copy, and the kind that removes it.
  std::vector<std::string> removed, swept;
  actions::Registry registry;
  registry.add(actions::Action{
      .name = "widget.restore",
      .run = [](actions::ActionContext&, const Params&) { return actions::Outcome::success(); },
      .rehearse = [](Rehearsal& r, actions::ActionContext&, const Params& p) -> Result<Rehearsed> {
        auto copy = "rbr-" + p.str("widget");
        if (r.for_real) r.record({{"kind", "widget"}, {"name", copy}});
        r.map("widget", p.str("widget"), copy);
        return Rehearsed::run(actions::with_param(p, "widget", copy));
      }});
  registry.add_copy_kind(actions::CopyKind{
      .name = "widget",
      .remove = [&](const nlohmann::json& record, actions::CleanupContext&) { removed.push_back(record.value("name", "")); },
      .sweep = [&](actions::CleanupContext& ctx) { swept.push_back(ctx.run_id.empty() ? "(any)" : ctx.run_id); },
      .summarize = [](const Rehearsal& r, nlohmann::json& summary) { summary["widgets"] = r.all_mapped("widget"); }});
  CHECK_THROWS_AS(registry.add_copy_kind(actions::CopyKind{.name = "widget"}), std::logic_error);

  Rehearsal rehearsal("run-1", (tmp / "state").string(), registry);
  std::vector<nlohmann::json> journaled;
  rehearsal.made = [&](const nlohmann::json& r) { journaled.push_back(r); };
  rehearsal.for_real = true;
  actions::ActionContext ctx{.step_id = "s", .runner = runner, .set_var = {}, .log = [](std::string_view) {}};
  auto step = actions::rehearse_step(rehearsal, plan::Step{.phase = plan::Phase::Restore},
                                     *registry.find("widget.restore"), ctx,
                                     Params(nlohmann::json{{"widget", "w1"}}));
  REQUIRE(step->kind == Rehearsed::Kind::Run);
  CHECK(step->params.str("widget") == "rbr-w1");
  REQUIRE(journaled.size() == 1);
  CHECK(rehearsal.summary()["widgets"]["w1"] == "rbr-w1");

  rehearsal.remove_all(runner, {});
  CHECK(removed == std::vector<std::string>{"rbr-w1"});
  CHECK(swept == std::vector<std::string>{"run-1"});

  // The next run, after a killed one: its journaled record and a sweep of the state dir.
  actions::CleanupContext cleanup{.runner = runner, .state_dir = (tmp / "state").string(), .run_id = "",
                                  .held = journaled, .log = {}};
  actions::clean_up_rehearsals_with(registry, cleanup);
  CHECK(removed == std::vector<std::string>{"rbr-w1", "rbr-w1"});
  CHECK(swept == std::vector<std::string>{"run-1", "(any)"});
}

TEST_CASE("the built-in adapters register their kinds of rehearsal copy", "[actions][rehearse]") {
  std::set<std::string> kinds;
  for (const auto& kind : actions::builtin_registry().copy_kinds()) kinds.insert(kind.name);
  CHECK(kinds == std::set<std::string>{"clone", "database", "volume"});
}
