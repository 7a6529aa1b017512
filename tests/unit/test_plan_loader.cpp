#include <catch2/catch.hpp>

#include <rollback/plan/loader.hpp>

#include "plan_fake_registry.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::plan;

namespace {

std::vector<std::string> errors(const std::string& text) {
  auto result = load_plan_text(text, "p.yaml", testing::plan_test_registry());
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics) out.push_back(d.str());
  if (out.empty()) CHECK(result.plan.has_value());
  return out;
}

const char* kGoodPlan = R"(version: 1
name: quick
kind: quick
budget: 10m
vars:
  backups: /backups
  compose_dir: ${backups}/compose
  check_api: "yes"
secrets:
  token: {env: API_TOKEN}
target:
  from: dir
  dir: ${backups}
  glob: staging-*
  default: latest
  require: [docker-compose.yml]
steps:
  - id: find
    phase: assess
    action: fs.latest
    with: {glob: "${backups}/staging-*", into: latest_backup}
  - id: down
    phase: stop
    action: docker.compose
    with: {dir: "${latest_backup}", command: down}
    retry: {attempts: 3, delay: 5s, backoff: 2}
  - id: health
    name: API answers
    phase: verify
    action: http.probe
    when: check_api
    with: {url: "https://api/${target.name}?t=${secrets.token}", expect_status: 200}
    retry: {until: 2m, every: 5s}
    on_failure: continue
criteria:
  critical:
    - name: api-down
      probe: {action: http.probe, with: {url: "${env.API_URL}"}}
      for: 5m
report:
  lang: es
  contacts: [ops@example.com]
)";

}  // namespace

TEST_CASE("a correct plan loads into the model with its defaults filled in", "[plan]") {
  auto result = load_plan_text(kGoodPlan, "p.yaml", testing::plan_test_registry());
  for (const auto& d : result.diagnostics) UNSCOPED_INFO(d.str());
  REQUIRE(result.diagnostics.empty());
  REQUIRE(result.plan);
  const Plan& plan = *result.plan;
  CHECK(plan.name == "quick");
  CHECK(plan.kind == Kind::Quick);
  CHECK(plan.budget == Millis(600'000));
  REQUIRE(plan.vars.size() == 3);
  CHECK(plan.vars[1].first == "compose_dir");
  REQUIRE(plan.secrets.size() == 1);
  CHECK(plan.secrets[0].env == "API_TOKEN");
  CHECK(plan.target.from == "dir");
  CHECK(plan.target.glob == "staging-*");
  CHECK(plan.target.default_target == "latest");
  CHECK(plan.target.require == std::vector<std::string>{"docker-compose.yml"});
  REQUIRE(plan.steps.size() == 3);
  CHECK(plan.steps[0].name == "find");  // name defaults to the id
  CHECK(plan.steps[0].phase == Phase::Assess);
  CHECK_FALSE(plan.steps[0].destructive);  // fs.latest is not destructive
  CHECK(plan.steps[1].destructive);        // docker.compose is
  CHECK(plan.steps[1].retry.attempts == 3);
  CHECK(plan.steps[1].retry.delay == Millis(5000));
  CHECK(plan.steps[1].retry.backoff == 2.0);
  CHECK(plan.steps[1].where.str() == "p.yaml:22:5");
  CHECK(plan.steps[2].name == "API answers");
  CHECK(plan.steps[2].when == "check_api");
  CHECK(plan.steps[2].retry.until == Millis(120'000));
  CHECK(plan.steps[2].on_failure == OnFailure::Continue);
  REQUIRE(plan.criteria.size() == 1);
  CHECK(plan.criteria[0].critical);
  CHECK(plan.criteria[0].probe.action == "http.probe");
  CHECK(plan.criteria[0].hold_for == Millis(300'000));
  CHECK(plan.report.lang == "es");
  CHECK(plan.has_destructive_steps());
}

TEST_CASE("an explicit destructive: false overrides the action's default", "[plan]") {
  auto result = load_plan_text(R"(version: 1
name: t
steps:
  - id: ps
    action: docker.compose
    destructive: false
    with: {dir: /srv, command: ps}
)",
                               "p.yaml", testing::plan_test_registry());
  REQUIRE(result.plan);
  CHECK_FALSE(result.plan->steps[0].destructive);
}

TEST_CASE("a YAML syntax error is reported with its position", "[plan]") {
  CHECK(errors("version: 1\nname: [t\nsteps: []\n") ==
        std::vector<std::string>{"p.yaml:3:6: YAML syntax error: end of sequence flow not found"});
}

TEST_CASE("a mistyped top-level key is named with a did-you-mean", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
stpes:
  - id: a
    action: wait.sleep
    with: {duration: 1s}
)") == std::vector<std::string>{"p.yaml:3:1: unknown key 'stpes' (did you mean 'steps'?)",
                                "p.yaml:1:1: missing required key 'steps'"});
}

TEST_CASE("unknown keys are reported at every level of the plan", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
secrets:
  token: {env: T, fil: x}
target:
  from: dir
  dir: /b
  glbo: "*"
steps:
  - id: a
    actoin: wait.sleep
    retry: {attemps: 2}
criteria:
  critical:
    - name: c
      probe: {action: wait.sleep, with: {duration: 1s}}
      fro: 5m
report:
  titel: x
)") == std::vector<std::string>{
           "p.yaml:4:19: unknown key 'fil' in secret 'token' (did you mean 'file'?)",
           "p.yaml:8:3: unknown key 'glbo' in target (did you mean 'glob'?)",
           "p.yaml:11:5: unknown key 'actoin' in step 'a' (did you mean 'action'?)",
           "p.yaml:12:13: unknown key 'attemps' in retry of step 'a' (did you mean 'attempts'?)",
           "p.yaml:10:5: step 'a': missing required key 'action'",
           "p.yaml:17:7: unknown key 'fro' in criterion 'c' (did you mean 'for'?)",
           "p.yaml:19:3: unknown key 'titel' in report (did you mean 'title'?)"});
}

TEST_CASE("an unknown key with no close match lists the allowed keys", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
report: {colour: red}
steps: [{id: a, action: wait.sleep, with: {duration: 1s}}]
)") == std::vector<std::string>{"p.yaml:3:10: unknown key 'colour' in report (allowed: title, "
                                "contacts, checklist, follow_up, lang)"});
}

TEST_CASE("values of the wrong type or outside their set are errors listing what is allowed",
          "[plan]") {
  CHECK(errors(R"(version: 1
name: t
kind: quik
steps:
  - id: a
    phase: restor
    action: wait.sleep
    with: {duration: 1s}
    retry: {attempts: three}
    on_failure: ignore
)") == std::vector<std::string>{
           "p.yaml:3:7: kind: 'quik' is not one of quick, full, emergency, coolify, git-sql, "
           "backup, custom (did you mean 'quick'?)",
           "p.yaml:6:12: step 'a': phase: 'restor' is not one of assess, backup, stop, "
           "restore, start, verify, notify (did you mean 'restore'?)",
           "p.yaml:9:23: step 'a': retry.attempts: expected a whole number, got 'three'",
           "p.yaml:10:17: step 'a': on_failure: 'ignore' is not one of abort, continue"});
}

TEST_CASE("steps written as a map instead of a list is an error", "[plan]") {
  CHECK(errors("version: 1\nname: t\nsteps:\n  id: a\n  action: wait.sleep\n") ==
        std::vector<std::string>{"p.yaml:4:3: steps: expected a list of steps, got a map"});
}

TEST_CASE("each missing required top-level key is its own error", "[plan]") {
  CHECK(errors("description: nothing else\n") ==
        std::vector<std::string>{"p.yaml:1:1: missing required key 'version'",
                                 "p.yaml:1:1: missing required key 'name'",
                                 "p.yaml:1:1: missing required key 'steps'"});
}

TEST_CASE("a step without an id is named by its position", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
steps:
  - action: wait.sleep
    with: {duration: 1s}
)") == std::vector<std::string>{"p.yaml:4:5: step #1: missing required key 'id'"});
}

TEST_CASE("a required key written with no value counts as missing", "[plan]") {
  CHECK(errors(R"(version: 1
name:
steps:
  - id:
    action: wait.sleep
    with: {duration: 1s}
)") == std::vector<std::string>{"p.yaml:1:1: missing required key 'name'",
                                "p.yaml:4:5: step #1: missing required key 'id'"});
}

TEST_CASE("a secret needs exactly one of env and file", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
secrets:
  a: {env: A, file: /x}
  b: {}
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)") == std::vector<std::string>{"p.yaml:4:6: secret 'a': needs exactly one of 'env' or 'file'",
                                "p.yaml:5:6: secret 'b': needs exactly one of 'env' or 'file'"});
}

TEST_CASE("a duplicate step id points at the second and names the first's line", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
steps:
  - id: stop
    action: wait.sleep
    with: {duration: 1s}
  - id: stop
    action: wait.sleep
    with: {duration: 1s}
)") == std::vector<std::string>{"p.yaml:7:9: duplicate step id 'stop' (first defined at line 4)"});
}

TEST_CASE("an unknown action suggests the closest registered one", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
steps:
  - id: a
    action: docker.compse
)") == std::vector<std::string>{
           "p.yaml:5:13: step 'a': unknown action 'docker.compse' (did you mean "
           "'docker.compose'?)"});
}

TEST_CASE("durations without a unit are errors wherever a duration is expected", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
budget: 10 minutes
cooldown: 30
steps:
  - id: a
    action: wait.sleep
    with: {duration: 1s}
    timeout: 5 min
    retry: {delay: 5, attempts: 2}
  - id: b
    action: wait.sleep
    with: {duration: 1s}
    retry: {until: forever, every: 5}
criteria:
  warning:
    - name: slow
      probe: {action: wait.sleep, with: {duration: 1s}}
      for: a while
)") == std::vector<std::string>{
           "p.yaml:3:9: budget: '10 minutes' is not a duration (use 500ms, 30s, 5m, 2h, 1h30m)",
           "p.yaml:4:11: cooldown: '30' is not a duration (use 500ms, 30s, 5m, 2h, 1h30m)",
           "p.yaml:9:14: step 'a': timeout: '5 min' is not a duration (use 500ms, 30s, 5m, 2h, "
           "1h30m)",
           "p.yaml:10:20: step 'a': retry.delay: '5' is not a duration (use 500ms, 30s, 5m, "
           "2h, 1h30m)",
           "p.yaml:14:20: step 'b': retry.until: 'forever' is not a duration (use 500ms, 30s, "
           "5m, 2h, 1h30m)",
           "p.yaml:14:36: step 'b': retry.every: '5' is not a duration (use 500ms, 30s, 5m, "
           "2h, 1h30m)",
           "p.yaml:19:12: criterion 'slow': for: 'a while' is not a duration (use 500ms, 30s, "
           "5m, 2h, 1h30m)"});
}

TEST_CASE("a plan version other than 1 is refused", "[plan]") {
  CHECK(
      errors("version: 2\nname: t\nsteps: [{id: a, action: wait.sleep, with: {duration: 1s}}]\n") ==
      std::vector<std::string>{
          "p.yaml:1:10: version: expected 1, got '2' (this rollback reads plan version 1)"});
}

TEST_CASE("a plan with three different mistakes yields three diagnostics", "[plan]") {
  auto found = errors(R"(version: 1
name: t
stpes: []
steps:
  - id: a
    action: wait.slep
    timeout: soon
)");
  CHECK(found == std::vector<std::string>{
                     "p.yaml:3:1: unknown key 'stpes' (did you mean 'steps'?)",
                     "p.yaml:7:14: step 'a': timeout: 'soon' is not a duration (use 500ms, 30s, "
                     "5m, 2h, 1h30m)",
                     "p.yaml:6:13: step 'a': unknown action 'wait.slep' (did you mean "
                     "'wait.sleep'?)"});
}

TEST_CASE("a plan file is read from disk and its path is in every diagnostic", "[plan]") {
  auto good = load_plan(testing::fixture("plans/good/quick.yaml"), testing::plan_test_registry());
  for (const auto& d : good.diagnostics) UNSCOPED_INFO(d.str());
  CHECK(good.diagnostics.empty());
  auto missing = load_plan("/nonexistent/plan.yaml", testing::plan_test_registry());
  REQUIRE(missing.diagnostics.size() == 1);
  CHECK(missing.diagnostics[0].str().starts_with("/nonexistent/plan.yaml: cannot open"));
}

TEST_CASE("a key written twice in one map is reported at the second", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
steps:
  - id: a
    action: wait.sleep
    with: {duration: 1s}
    timeout: 5s
    timeout: 10s
name: again
)") == std::vector<std::string>{
           "p.yaml:9:1: duplicate key 'name' (first at line 2)",
           "p.yaml:8:5: duplicate key 'timeout' in step 'a' (first at line 7)"});
}

TEST_CASE("an empty file and a file that is not a map are plan errors", "[plan]") {
  CHECK(errors("") == std::vector<std::string>{
                          "p.yaml:1:1: the plan is empty: expected a map with version, name and "
                          "steps"});
  CHECK(errors("- id: a\n") ==
        std::vector<std::string>{"p.yaml:1:1: expected a plan (a map with version, name and "
                                 "steps), got a list"});
}

TEST_CASE("YAML merge keys and top-level x- keys work as in Compose files, a step's own keys win", "[plan]") {
  auto result = load_plan_text(R"(version: 1
name: merged
x-step-defaults: &defaults
  phase: verify
  timeout: 1m
  on_failure: continue
x-more: &more
  timeout: 9m
  retry: {until: 30s, every: 1s}
steps:
  - id: a
    <<: [*defaults, *more]
    timeout: 2m
    action: wait.sleep
    with: {duration: 1ms}
  - id: b
    <<: *defaults
    action: wait.sleep
    with: {duration: 1ms}
)",
                               "p.yaml", testing::plan_test_registry());
  INFO((result.diagnostics.empty() ? "" : result.diagnostics[0].str()));
  REQUIRE(result.plan);
  const auto& steps = result.plan->steps;
  CHECK(steps[0].timeout == Millis(120'000));     // its own
  CHECK(steps[0].phase == Phase::Verify);          // from the first alias
  CHECK(steps[0].retry.until == Millis(30'000));  // from the second
  CHECK(steps[1].timeout == Millis(60'000));
  CHECK(steps[1].on_failure == OnFailure::Continue);
  CHECK(errors("version: 1\nname: t\ny-note: 1\nsteps:\n  - {id: a, action: wait.sleep, with: {duration: 1s}}\n")
            .at(0)
            .starts_with("p.yaml:3:1: unknown key 'y-note'"));
}
