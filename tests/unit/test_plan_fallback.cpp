// `fallback:`, the plan-level `notify:` list and criterion `vars:` at load time (issue 17):
// located errors for what cannot hold, and the pair checks that need both plans.
#include <catch2/catch.hpp>

#include <rollback/plan/fallback.hpp>
#include <rollback/plan/loader.hpp>

#include "plan_fake_registry.hpp"

using namespace rollback;

namespace {

plan::LoadResult load(const std::string& text) {
  return plan::load_plan_text(text, "p.yaml", testing::plan_test_registry());
}

std::string errors_of(const plan::LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

const char* kRedeploy = R"(
  - id: redeploy
    action: coolify.rollback
    with: {url: "http://coolify", application: app}
)";

const char* kVerify = R"(
  - id: health
    phase: verify
    action: http.probe
    with: {url: "http://app/health"}
)";

std::string plan_with(const std::string& fallback, const std::string& steps) {
  return "version: 1\nname: first\nfallback: " + fallback + "\nsteps:" + steps;
}

}  // namespace

TEST_CASE("fallback reads plan, when and target, and `failed` is allowed after read-only steps only", "[plan][fallback]") {
  auto r = load(plan_with("{plan: second, when: [preflight, failed], target: latest, note: no webhook}",
                          std::string(R"(
  - id: look
    phase: assess
    action: http.probe
    with: {url: "http://app/health"})") + kRedeploy + kVerify));
  INFO(errors_of(r));
  REQUIRE(r.plan);
  CHECK(r.plan->fallback.plan == "second");
  CHECK(r.plan->fallback.on_preflight);
  CHECK(r.plan->fallback.on_failed);
  CHECK(r.plan->fallback.target == "latest");
  CHECK(r.plan->fallback.note == "no webhook");
  CHECK(r.plan->fallback.where.line == 3);
}

TEST_CASE("a fallback on `failed` is refused at load time when a destructive, non-rerun-safe step could have run "
          "before the step whose failure hands over",
          "[plan][fallback]") {
  auto before = load(plan_with("{plan: second, when: [failed]}", std::string(R"(
  - id: stop
    action: docker.compose
    with: {dir: /srv/app, command: down})") + kRedeploy));
  CHECK_THAT(errors_of(before), Catch::Contains("p.yaml:8:5") && Catch::Contains("step 'stop' (docker.compose)") &&
                                    Catch::Contains("half-changed"));

  // In the same parallel group it could complete first, too.
  auto beside = load(plan_with("{plan: second, when: [failed]}", R"(
  - parallel:
      - id: redeploy
        action: coolify.rollback
        with: {url: "http://coolify", application: app}
      - id: migrate
        action: exec.run
        with: {argv: [migrate]})"));
  CHECK_THAT(errors_of(beside), Catch::Contains("step 'migrate' (exec.run)"));

  // Only `preflight`: nothing is asked of the steps.
  auto preflight_only = load(plan_with("{plan: second, when: [preflight]}", std::string(R"(
  - id: stop
    action: docker.compose
    with: {dir: /srv/app, command: down})") + kRedeploy));
  INFO(errors_of(preflight_only));
  CHECK(preflight_only.plan);
}

TEST_CASE("fallback: `failed` that can never apply, a fallback to itself and a misspelt `when` are located errors",
          "[plan][fallback]") {
  auto never = load(plan_with("{plan: second, when: [failed]}", R"(
  - id: migrate
    action: exec.run
    with: {argv: [migrate]})"));
  CHECK_THAT(errors_of(never), Catch::Contains("p.yaml:3:11") && Catch::Contains("can never apply") &&
                                   Catch::Contains("when: [preflight]"));
  auto self = load(plan_with("{plan: first, when: [preflight]}", kVerify));
  CHECK_THAT(errors_of(self), Catch::Contains("cannot fall back to itself"));
  auto typo = load(plan_with("{plan: second, when: [prefligth]}", kVerify));
  CHECK_THAT(errors_of(typo), Catch::Contains("unknown 'prefligth'") && Catch::Contains("did you mean 'preflight'"));
  auto no_when = load(plan_with("{plan: second}", kVerify));
  CHECK_THAT(errors_of(no_when), Catch::Contains("missing required key 'when'"));
}

TEST_CASE("the plan-level notify list takes notify actions only, and may use the run's outcome", "[plan][notify]") {
  auto r = load(R"yaml(version: 1
name: p
vars: {hook: ""}
notify:
  - action: notify.webhook
    with: {url: "${hook}", message: "${run.summary} (exit ${run.exit_code}, report ${run.report})"}
steps:)yaml" + std::string(kVerify));
  INFO(errors_of(r));
  REQUIRE(r.plan);
  REQUIRE(r.plan->notify.size() == 1);
  CHECK(r.plan->notify[0].action == "notify.webhook");

  auto wrong = load(R"(version: 1
name: p
notify:
  - action: exec.run
    with: {argv: [mail]}
  - action: notify.webhook
    with: {url: "http://hook", message: "${target.name}"}
steps:)" + std::string(kVerify));
  CHECK_THAT(errors_of(wrong), Catch::Contains("p.yaml:4:13: notify[0]: 'exec.run' is not a notify action") &&
                                   Catch::Contains("${run.target}"));

  // The outcome is known only at the end: a step cannot use it.
  auto early = load(R"(version: 1
name: p
steps:
  - id: say
    action: notify.webhook
    with: {url: "http://hook", message: "${run.result}"}
)");
  CHECK_THAT(errors_of(early), Catch::Contains("only in the plan's notify list"));
}

TEST_CASE("criterion vars: literal values of the plan's vars, or of its fallback's, checked with both plans",
          "[plan][fallback]") {
  const std::string criteria = R"(
criteria:
  critical:
    - name: data corrupt
      probe: {action: http.probe, with: {url: "http://app/data"}}
      vars: {restore_database: "yes"}
)";
  auto alone = load("version: 1\nname: first\nsteps:" + std::string(kVerify) + criteria);
  CHECK_THAT(errors_of(alone), Catch::Contains("p.yaml:11:7: criterion 'data corrupt': vars.restore_database: plan "
                                               "'first' has no var 'restore_database'"));

  auto first = load(plan_with("{plan: second, when: [preflight]}", kVerify) + criteria);
  INFO(errors_of(first));
  REQUIRE(first.plan);
  CHECK(first.plan->criteria[0].vars == std::vector<std::pair<std::string, std::string>>{{"restore_database", "yes"}});
  auto second = plan::load_plan_text("version: 1\nname: second\nvars: {restore_database: \"\"}\nsteps:" +
                                         std::string(kVerify),
                                     "second.yaml", testing::plan_test_registry());
  REQUIRE(second.plan);
  CHECK(plan::check_fallback_pair(*first.plan, *second.plan).empty());
  auto lacking = plan::load_plan_text("version: 1\nname: second\nsteps:" + std::string(kVerify), "second.yaml",
                                      testing::plan_test_registry());
  auto problems = plan::check_fallback_pair(*first.plan, *lacking.plan);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0].str(), Catch::Contains("neither plan 'first' nor its fallback 'second'"));
}

TEST_CASE("a fallback's own fallback is refused: one level only, no chains and no loops", "[plan][fallback]") {
  auto first = load(plan_with("{plan: second, when: [preflight]}", kVerify));
  auto second = plan::load_plan_text("version: 1\nname: second\nfallback: {plan: first, when: [preflight]}\nsteps:" +
                                         std::string(kVerify),
                                     "second.yaml", testing::plan_test_registry());
  REQUIRE(first.plan);
  REQUIRE(second.plan);
  auto problems = plan::check_fallback_pair(*first.plan, *second.plan);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0].str(), Catch::StartsWith("p.yaml:3:11") && Catch::Contains("has a fallback of its own") &&
                                    Catch::Contains("second.yaml:3:11"));
}

TEST_CASE("each plan of a fallback pair takes the --var values it declares, and one neither declares is an error",
          "[plan][fallback]") {
  auto first = plan::load_plan_text("version: 1\nname: first\nvars: {a: '', shared: ''}\nsteps:" + std::string(kVerify),
                                    "first.yaml", testing::plan_test_registry());
  auto second = plan::load_plan_text("version: 1\nname: second\nvars: {b: '', shared: ''}\nsteps:" +
                                         std::string(kVerify),
                                     "second.yaml", testing::plan_test_registry());
  REQUIRE(first.plan);
  REQUIRE(second.plan);
  std::map<std::string, std::string> given{{"a", "1"}, {"b", "2"}, {"shared", "3"}};
  auto to_first = plan::overrides_for(*first.plan, given, &*second.plan);
  auto to_second = plan::overrides_for(*second.plan, given, &*first.plan);
  REQUIRE(to_first);
  REQUIRE(to_second);
  CHECK(*to_first == std::map<std::string, std::string>{{"a", "1"}, {"shared", "3"}});
  CHECK(*to_second == std::map<std::string, std::string>{{"b", "2"}, {"shared", "3"}});
  given["c"] = "4";
  auto unknown = plan::overrides_for(*first.plan, given, &*second.plan);
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error().message, Catch::Contains("--var c=...: neither plan 'first' nor its fallback 'second'"));
}
