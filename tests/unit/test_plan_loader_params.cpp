#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include <rollback/plan/interpolate.hpp>
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
  return out;
}

}  // namespace

TEST_CASE("action parameters are checked against the action's schema at load time", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
steps:
  - id: up
    action: docker.compose
    with:
      dir: /srv
      command: upp
      servics: [api]
      remove_orphans: maybe
      tail: many
      env: [A=1]
  - id: nodir
    action: docker.compose
    with: {command: ps}
  - id: nap
    action: wait.sleep
    with: {duration: 30}
  - id: probe
    action: http.probe
    with: {url: "http://a", urls: ["http://b"]}
  - id: probe2
    action: http.probe
)") == std::vector<std::string>{
           "p.yaml:8:16: step 'up': with.command: 'upp' is not one of ps, up, down, stop, "
           "start, restart, logs (did you mean 'up'?)",
           "p.yaml:9:7: step 'up': unknown parameter 'servics' for docker.compose (did you "
           "mean 'services'?)",
           "p.yaml:10:23: step 'up': with.remove_orphans: expected true or false, got 'maybe'",
           "p.yaml:11:13: step 'up': with.tail: expected a whole number, got 'many'",
           "p.yaml:12:12: step 'up': with.env: expected a map of names to text, got a list",
           "p.yaml:15:11: step 'nodir': docker.compose needs parameter 'dir'",
           "p.yaml:18:22: step 'nap': with.duration: '30' is not a duration (use 500ms, 30s, "
           "5m, 2h, 1h30m)",
           "p.yaml:21:35: step 'probe': use url or urls, not both",
           "p.yaml:22:5: step 'probe2': http.probe needs url or urls"});
}

TEST_CASE("templated parameter values are checked only when the run resolves them", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
vars: {cmd: up, wait: 5s}
steps:
  - id: up
    action: docker.compose
    with: {dir: /srv, command: "${cmd}"}
  - id: nap
    action: wait.sleep
    with: {duration: "${wait}"}
)")
            .empty());
}

TEST_CASE("undefined references are errors at the exact column, with a did-you-mean", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
vars:
  backups: /backups
  dump: ${bakups}/db.sql
  home: ${env.HOME}/x
  tok: "${secrets.tokn}"
secrets:
  token: {env: TOKEN}
target:
  from: dir
  dir: ${backups}/${target.name}
steps:
  - id: use-early
    action: wait.sleep
    with: {duration: "${latest}"}
  - id: find
    action: fs.latest
    with: {glob: "${backups}/*", into: latest}
  - id: use-late
    action: wait.sleep
    when: ${do_it}
    with: {duration: "${latest} ${unclosed"}
)") == std::vector<std::string>{
           "p.yaml:5:9: vars.dump: undefined variable ${bakups} (did you mean 'backups'?)",
           "p.yaml:7:9: vars.tok: undefined secret ${secrets.tokn}: declare 'tokn' under "
           "secrets: (did you mean 'token'?)",
           "p.yaml:12:19: target.dir: ${target.name} cannot be used in the target section: it "
           "is what the section chooses",
           "p.yaml:16:23: step 'use-early': with.duration: undefined variable ${latest}: step "
           "'find' sets it, but runs after this step",
           "p.yaml:22:11: step 'use-late': when: undefined variable ${do_it}",
           "p.yaml:23:33: step 'use-late': with.duration: unclosed \"${\" (write \"$${\" for a "
           "literal \"${\")"});
}

TEST_CASE("a step cannot use the value it sets itself", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
steps:
  - id: find
    action: fs.latest
    when: ${latest}
    with: {glob: "/b/*", into: latest}
)") == std::vector<std::string>{"p.yaml:6:11: step 'find': when: undefined variable ${latest}: "
                                "this step sets it, so it has no value yet"});
}

TEST_CASE("a bare when: names a var that must be defined", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
vars: {do_backup: "yes"}
steps:
  - id: a
    action: wait.sleep
    when: do_bakup
    with: {duration: 1s}
)") == std::vector<std::string>{
           "p.yaml:7:11: step 'a': when: undefined variable ${do_bakup} (did you mean "
           "'do_backup'?)"});
}

TEST_CASE("vars that use each other in a circle are an error", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
vars:
  a: ${b}/x
  b: ${a}/y
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)") == std::vector<std::string>{"p.yaml:4:6: vars.a: cycle between vars: a -> b -> a"});
}

TEST_CASE("a target section cannot use a var that depends on the target", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
vars:
  base: /b/${target.name}
  where: ${base}
target: {from: dir, dir: "${where}"}
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)") == std::vector<std::string>{
           "p.yaml:6:27: target.dir: ${where} uses ${target.*}, which is not known until the "
           "target is chosen"});
}

TEST_CASE("a secret's file path cannot use vars, which are bound after secrets", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
vars: {dir: /etc/rollback}
secrets:
  token: {file: "${dir}/token"}
steps: [{id: s, action: wait.sleep, with: {duration: 1s}}]
)") == std::vector<std::string>{
           "p.yaml:5:18: secret 'token': file: ${dir}: a secret's file path can use only "
           "${env.*} and ${run.*} (secrets are read before vars are bound)"});
}

TEST_CASE("criteria probes must be read-only and cannot use step values", "[plan]") {
  CHECK(errors(R"(version: 1
name: t
steps:
  - id: find
    action: fs.latest
    with: {glob: "/b/*", into: latest}
criteria:
  critical:
    - name: restart-it
      probe: {action: docker.compose, with: {dir: "${latest}", command: restart}}
)") == std::vector<std::string>{
           "p.yaml:10:23: criterion 'restart-it': docker.compose changes things; a "
           "criterion's probe must be a read-only action",
           "p.yaml:10:52: criterion 'restart-it': probe.with.dir: undefined variable "
           "${latest}: it is set by step 'find' and only steps can use it"});
}

TEST_CASE(
    "every broken plan under tests/fixtures/plans/bad-fake-registry gives exactly the errors its "
    "comments expect",
    "[plan]") {
  namespace fs = std::filesystem;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(testing::fixture("plans/bad-fake-registry"))) {
    ++files;
    std::string path = entry.path().string();
    std::istringstream lines(testing::read_text(entry.path()));
    std::vector<std::string> expected;
    for (std::string line; std::getline(lines, line) && line.starts_with("# expect: ");) {
      std::string message = line.substr(10);
      expected.push_back(path + message.substr(4));  // "FILE" -> the path
    }
    auto result = load_plan(entry.path(), testing::plan_test_registry());
    std::vector<std::string> found;
    for (const auto& d : result.diagnostics) found.push_back(d.str());
    INFO(path);
    CHECK(found == expected);
  }
  CHECK(files >= 4);
}

TEST_CASE("a parameter that names something may not be written empty or blank in the plan", "[plan]") {
  auto found = errors(R"(version: 1
name: t
steps:
  - id: up
    action: docker.compose
    with: {dir: "  ", command: up}
)");
  REQUIRE(found.size() == 1);
  CHECK(found[0] == "p.yaml:6:17: step 'up': with.dir: is blank");
}

TEST_CASE("a parameter resolved from an empty var is refused naming the var", "[plan]") {
  Scope scope;
  scope.set_var("project", "");
  auto params = resolve_params(YAML::Load("{dir: '${project}', command: up}"), scope,
                               testing::plan_test_registry().schema("docker.compose")->params);
  REQUIRE_FALSE(params);
  CHECK(params.error().message == "with.dir: is empty (from ${project})");
}
