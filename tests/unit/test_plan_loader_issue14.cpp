// Load-time rules that came with picking and proving targets (issue 14), checked against the
// real action registry: read-only steps of docker.exec, require entries of git targets.
#include <catch2/catch.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/plan/loader.hpp>

using namespace rollback;

namespace {

plan::LoadResult load(const std::string& text) {
  return plan::load_plan_text(text, "p.yaml", actions::builtin_registry());
}

std::string errors_of(const plan::LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

}  // namespace

TEST_CASE("docker.exec with read_only: true is a non-destructive step and may be a criterion's probe", "[plan][exec]") {
  auto r = load(R"(version: 1
name: p
steps:
  - id: ready
    phase: verify
    action: docker.exec
    with: {project: app, service: db, argv: [pg_isready], read_only: true}
  - id: migrate
    action: docker.exec
    with: {project: app, service: db, argv: [migrate]}
criteria:
  critical:
    - name: db down
      probe: {action: docker.exec, with: {project: app, service: db, argv: [pg_isready], read_only: true}}
)");
  INFO(errors_of(r));
  REQUIRE(r.plan);
  CHECK_FALSE(r.plan->steps[0].destructive);
  CHECK(r.plan->steps[1].destructive);
  auto bad = load(R"(version: 1
name: p
steps:
  - id: a
    action: fs.mkdir
    with: {path: /tmp/x}
criteria:
  critical:
    - name: c
      probe: {action: docker.exec, with: {container: db, argv: [pg_isready]}}
)");
  CHECK_THAT(errors_of(bad), Catch::Contains("docker.exec changes things") && Catch::Contains("read_only: true"));
}

TEST_CASE("docker.exec needs a project with a service, or a container", "[plan][exec]") {
  auto r = load(R"(version: 1
name: p
steps:
  - id: a
    action: docker.exec
    with: {project: app, argv: [true]}
  - id: b
    action: docker.exec
    with: {argv: [true]}
)");
  auto text = errors_of(r);
  CHECK_THAT(text, Catch::Contains("`project` needs `service`"));
  CHECK_THAT(text, Catch::Contains("needs `project` (with `service`) or `container`"));
}

TEST_CASE("a git target's require entries are absolute globs that may use ${target.commit}, a dir target's stay "
          "relative",
          "[plan][targets]") {
  auto git = load(R"(version: 1
name: p
vars:
  backups: /b
  dump: ${backups}/pre-deploy-*-${target.commit}.dump
target:
  from: git
  with: {repo: /r}
  require: ["${dump}", "relative/path"]
steps:
  - id: a
    action: fs.mkdir
    with: {path: "/tmp/${target.commit}"}
)");
  auto text = errors_of(git);
  CHECK_THAT(text, Catch::Contains("target.require[1]: 'relative/path' must be an absolute path or glob"));
  CHECK_THAT(text, !Catch::Contains("require[0]"));
  auto dir = load(R"(version: 1
name: p
target:
  from: dir
  dir: /b
  require: [/etc/passwd]
steps:
  - id: a
    action: fs.mkdir
    with: {path: /tmp/x}
)");
  CHECK_THAT(errors_of(dir), Catch::Contains("must be a path inside the target"));
}
