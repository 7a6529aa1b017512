// The Swarm model against JSON recorded from a real single-node swarm (tests/fixtures/swarm,
// see its README): parsing, convergence verdicts for deploy / rollback / observe, env files,
// image references and pins.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>

#include <rollback/actions/action.hpp>
#include <rollback/actions/docker_swarm.hpp>
#include <rollback/proc/runner.hpp>
#include <rollback/util/text.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::actions::docker::swarm;
using namespace std::chrono_literals;

namespace {

struct Recorded {
  std::vector<ServiceState> services;
  std::vector<TaskState> tasks;
  SystemTime now;

  const ServiceState& service(const std::string& name) const {
    for (const auto& s : services)
      if (s.name == name) return s;
    FAIL("no service " << name);
    throw std::logic_error("unreachable");
  }
};

Recorded recorded(const std::string& scenario) {
  auto dir = "swarm/" + scenario;
  auto services = parse_services(testing::read_text(testing::fixture(dir + ".services.json")));
  auto tasks = parse_tasks(testing::read_text(testing::fixture(dir + ".tasks.json")));
  auto now = parse_iso_utc(trim(testing::read_text(testing::fixture(dir + ".now"))));
  REQUIRE(services);
  REQUIRE(tasks);
  REQUIRE(now);
  return {*services, *tasks, *now};
}

SystemTime at(const char* iso) {
  return *parse_iso_utc(iso);
}

}  // namespace

TEST_CASE(
    "service inspect JSON gives the stack, the compose name, replicas, monitor and update state",
    "[actions][swarm]") {
  auto r = recorded("update-paused");
  REQUIRE(r.services.size() == 1);
  const auto& s = r.services[0];
  CHECK(s.name == "swx1_api");
  CHECK(s.stack == "swx1");
  CHECK(s.short_name == "api");
  CHECK(s.mode == "replicated");
  CHECK(s.replicas == 1);
  CHECK(s.image == "local/busybox:latest");
  CHECK(s.monitor == 2s);
  CHECK(s.restart_condition == "any");
  CHECK(s.update_state == "paused");
  CHECK(s.has_previous);
  CHECK_FALSE(s.previous_same);
  REQUIRE(r.tasks.size() == 5);
  CHECK(r.tasks[1].state == "failed");
  CHECK(r.tasks[1].error == "task: non-zero exit (4)");
  CHECK(r.tasks[1].desired == "shutdown");
}

TEST_CASE("output that is not a JSON array is an error naming the command", "[actions][swarm]") {
  auto services = parse_services("Error: no such service");
  REQUIRE_FALSE(services);
  CHECK_THAT(services.error().message, Catch::Contains("docker service inspect"));
  CHECK_FALSE(parse_tasks("{}"));
}

TEST_CASE("a running service whose tasks have been up longer than the monitor period has converged",
          "[actions][swarm]") {
  auto r = recorded("converged");
  // The poll before saw the same (tests/unit/test_actions_docker_swarm_wait.cpp: one look
  // is not enough).
  auto v = judge(r.services[0], r.tasks,
                 {.goal = Goal::Deploy,
                  .now = r.now,
                  .since = at("2026-11-26T07:18:09Z"),
                  .previous = r.tasks});
  CHECK(v.state == Convergence::Converged);
  CHECK(v.running == 1);
  CHECK(v.desired == 1);
  CHECK(v.detail == "1/1 running");
}

TEST_CASE("a deploy is held until its tasks have run for the service's update monitor period",
          "[actions][swarm]") {
  auto r = recorded("converged");  // the running task started at 07:18:16.39, monitor 2s
  auto v = judge(r.services[0], r.tasks,
                 {.goal = Goal::Deploy,
                  .now = at("2026-11-26T07:18:17.391Z"),
                  .since = at("2026-11-26T07:18:09Z"),
                  .previous = r.tasks});
  CHECK(v.state == Convergence::Converging);
  // Held for the monitor period plus the settle margin (kSettle).
  CHECK(v.ready_in > 900ms + kSettle);
  CHECK(v.ready_in <= 1s + kSettle);
  CHECK_THAT(v.detail, Catch::Contains("monitor period"));
  // Observing has no hold: it says how things stand.
  CHECK(
      judge(r.services[0], r.tasks, {.goal = Goal::Observe, .now = at("2026-11-26T07:18:17.391Z")})
          .state == Convergence::Converged);
}

TEST_CASE(
    "a task that keeps exiting fails the deploy once max_failures tasks of the current spec failed",
    "[actions][swarm]") {
  auto r = recorded("fresh-crash-stuck");  // swx2_crash failed 3 times since its creation
  const auto& crash = r.service("swx2_crash");
  JudgeOptions o{.goal = Goal::Deploy, .now = r.now, .since = at("2026-11-26T07:16:34Z")};
  auto v = judge(crash, r.tasks, o);
  CHECK(v.state == Convergence::Failed);
  CHECK(v.detail ==
        "0/1 running; task exited 3 time(s) since the step started: task: non-zero exit (3)");
  o.max_failures = 4;
  v = judge(crash, r.tasks, o);
  CHECK(v.state == Convergence::Converging);
  CHECK_THAT(v.detail, Catch::Contains("0/1 running; a task is ready"));
  // Failures before the deploy started belong to an earlier deploy of the same spec.
  o.max_failures = 1;
  o.since = at("2026-11-26T07:16:50Z");
  CHECK(judge(crash, r.tasks, o).state == Convergence::Converging);
}

TEST_CASE(
    "a task pending on 'no suitable node' fails the deploy once it stayed pending for the pending "
    "limit",
    "[actions][swarm]") {
  auto r = recorded("fresh-crash-stuck");  // swx2_stuck pending for 19.6s on a placement constraint
  const auto& stuck = r.service("swx2_stuck");
  JudgeOptions o{.goal = Goal::Deploy, .now = r.now, .since = at("2026-11-26T07:16:34Z")};
  auto v = judge(stuck, r.tasks, o);
  CHECK(v.state == Convergence::Failed);
  CHECK_THAT(v.detail, Catch::Contains("task pending for 19.6s: no suitable node (scheduling "
                                       "constraints not satisfied on 1 node)"));
  o.pending_limit = 30s;
  CHECK(judge(stuck, r.tasks, o).state == Convergence::Converging);
}

TEST_CASE(
    "a task pending on a host port that an old task still holds is an ordinary stop-first update",
    "[actions][swarm]") {
  auto r = recorded("updating-port-wait");
  auto v = judge(r.services[0], r.tasks,
                 {.goal = Goal::Deploy,
                  .now = r.now,
                  .since = at("2026-11-26T07:18:25Z"),
                  .pending_limit = 1ms});
  CHECK(v.state == Convergence::Converging);
  CHECK(v.detail ==
        "0/1 running; update in progress; a task is pending: no suitable node (host-mode port "
        "already in use on 1 node)");
}

TEST_CASE(
    "an update Swarm paused fails the deploy with Swarm's message and the failed task's error",
    "[actions][swarm]") {
  auto r = recorded("update-paused");
  auto v = judge(r.services[0], r.tasks,
                 {.goal = Goal::Deploy, .now = r.now, .since = at("2026-11-26T07:16:54Z")});
  CHECK(v.state == Convergence::Failed);
  CHECK(v.detail ==
        "0/1 running; update paused by Swarm (update paused due to failure or early termination of "
        "task "
        "y5j2zr7lj0jmh0ty3lpkj1nvy): task: non-zero exit (4)");
  CHECK(judge(r.services[0], r.tasks, {.goal = Goal::Observe, .now = r.now}).state !=
        Convergence::Converged);
}

TEST_CASE("a rollback converges on a fresh rollback_completed and fails on rollback_paused",
          "[actions][swarm]") {
  auto done = recorded("rollback-completed");
  JudgeOptions o{.goal = Goal::Rollback,
                 .now = done.now,
                 .since = at("2026-11-26T07:17:20Z"),
                 .previous = done.tasks};
  CHECK(judge(done.services[0], done.tasks, o).state == Convergence::Converged);
  // A rollback_completed from before this rollback started is not this rollback's.
  o.since = at("2026-11-26T07:17:40Z");
  auto waiting = judge(done.services[0], done.tasks, o);
  CHECK(waiting.state == Convergence::Converging);
  CHECK_THAT(waiting.detail, Catch::Contains("waiting for Swarm to start the rollback"));

  auto paused = recorded("rollback-paused");
  auto v = judge(paused.services[0], paused.tasks,
                 {.goal = Goal::Rollback, .now = paused.now, .since = at("2026-11-26T07:17:49Z")});
  CHECK(v.state == Convergence::Failed);
  CHECK_THAT(v.detail,
             Catch::Contains(
                 "Swarm's rollback paused (update paused due to failure or early termination of "
                 "task m2a8ocxx52323a6ndfpevvvkh): task: non-zero exit (4)"));
}

TEST_CASE("a deploy that Swarm rolled back on its own is a failure, an old rollback is not",
          "[actions][swarm]") {
  auto r = recorded("rollback-completed");
  auto v = judge(r.services[0], r.tasks,
                 {.goal = Goal::Deploy, .now = r.now, .since = at("2026-11-26T07:17:15Z")});
  CHECK(v.state == Convergence::Failed);
  CHECK_THAT(v.detail, Catch::Contains("Swarm rolled the service back on its own"));
  CHECK(judge(r.services[0], r.tasks,
              {.goal = Goal::Deploy,
               .now = r.now,
               .since = at("2026-11-26T07:17:40Z"),
               .previous = r.tasks})
            .state == Convergence::Converged);
  CHECK(judge(r.services[0], r.tasks, {.goal = Goal::Observe, .now = r.now}).state ==
        Convergence::Converged);
}

TEST_CASE("only tasks of the judged service count", "[actions][swarm]") {
  auto r = recorded("fresh-crash-stuck");
  auto v = judge(r.service("swx2_crash"), r.tasks, {.goal = Goal::Observe, .now = r.now});
  CHECK(v.running == 0);
  CHECK(v.desired == 1);
  CHECK_THAT(v.detail, !Catch::Contains("no suitable node"));
}

TEST_CASE("env files: comments, export, quotes, a bad line names its number", "[actions][swarm]") {
  auto env = parse_env_file(
      "# release\n\nexport API_IMAGE=local/app:v1\nAPI_PORT = 8080\nGREETING=\"hello "
      "world\"\nEMPTY=\nQ='a=b'\n");
  REQUIRE(env);
  CHECK(env->at("API_IMAGE") == "local/app:v1");
  CHECK(env->at("API_PORT") == "8080");
  CHECK(env->at("GREETING") == "hello world");
  CHECK(env->at("EMPTY").empty());
  CHECK(env->at("Q") == "a=b");
  auto bad = parse_env_file("A=1\nnot a pair\n");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "line 2: expected KEY=VALUE");
  CHECK_FALSE(parse_env_file("1A=x\n"));
}

TEST_CASE("image references: the repository and the digest reference", "[actions][swarm]") {
  CHECK(repository_of("registry:5000/team/app:1.2") == "registry:5000/team/app");
  CHECK(repository_of("app") == "app");
  CHECK(repository_of("app:1@sha256:abc") == "app");
  CHECK(digest_reference("registry:5000/app:1.2@sha256:abc") == "registry:5000/app@sha256:abc");
  CHECK(digest_reference("app:1.2").empty());
}

TEST_CASE(
    "a record pins by digest when one was recorded, else by image ID, and names a service with "
    "neither",
    "[actions][swarm]") {
  nlohmann::json record{
      {"format", kRecordFormat},
      {"services",
       {{"api", {{"image", "app:1"}, {"image_id", "sha256:1111"}, {"digest", "app@sha256:2222"}}},
        {"worker", {{"image", "local/w"}, {"image_id", "sha256:3333"}, {"digest", ""}}}}}};
  auto pins = pins_from_record(record);
  REQUIRE(pins);
  REQUIRE(pins->size() == 2);
  CHECK((*pins)[0].service == "api");
  CHECK((*pins)[0].image == "app@sha256:2222");
  CHECK_FALSE((*pins)[0].by_id);
  CHECK((*pins)[1].image == "sha256:3333");
  CHECK((*pins)[1].by_id);
  record["services"]["worker"]["image_id"] = "";
  auto missing = pins_from_record(record);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("service worker"));
  CHECK_FALSE(
      pins_from_record(nlohmann::json{{"services", nlohmann::json::object()}}));  // no format
}

TEST_CASE("the pins override carries the base file's version and one image per service",
          "[actions][swarm]") {
  auto text =
      pins_override({{"api", "sha256:1111", true}, {"odd\"name", "app@sha256:2", false}}, "3.8");
  CHECK_THAT(text, Catch::Contains(
                       "version: \"3.8\"\nservices:\n  \"api\":\n    image: \"sha256:1111\"\n"));
  CHECK_THAT(text, Catch::Contains("\"odd\\\"name\":"));
  CHECK_THAT(pins_override({}, ""), !Catch::Contains("version"));
  auto pins = pins_from_map({{"api", "sha256:9"}, {"db", "postgres@sha256:1"}});
  CHECK(pins[0].by_id);
  CHECK_FALSE(pins[1].by_id);
}

namespace {

// Answers `docker info` with a swarm of `nodes` nodes (or none); records every command.
class FakeSwarmRunner final : public proc::Runner {
 public:
  std::string swarm_json;
  std::vector<std::vector<std::string>> calls;
  Result<proc::Completed> run(const proc::Command& command) override {
    calls.push_back(command.argv);
    proc::Completed done;
    done.exit_code = 0;
    if (command.argv.size() > 1 && command.argv[1] == "info")
      done.out = "2026-11-26T07:00:00.5Z " + swarm_json + "\n";
    return done;
  }
  bool ran(const std::string& word) const {
    for (const auto& argv : calls)
      if (std::find(argv.begin(), argv.end(), word) != argv.end()) return true;
    return false;
  }
};

struct DeployFixture {
  testing::TempDir dir;
  FakeSwarmRunner runner;
  actions::ActionContext ctx{.step_id = "deploy", .runner = runner, .set_var = {}, .log = {}};
  nlohmann::json params;

  explicit DeployFixture(long long nodes, const std::string& image_id, const std::string& digest) {
    runner.swarm_json = fmt::format(
        R"({{"LocalNodeState":"active","ControlAvailable":true,"Nodes":{},"NodeID":"n1"}})", nodes);
    testing::write_text(dir / "stack.yml",
                        "version: \"3.8\"\nservices:\n  api:\n    image: app:1\n");
    nlohmann::json record{
        {"format", kRecordFormat},
        {"services", {{"api", {{"image", "app:1"}, {"image_id", image_id}, {"digest", digest}}}}}};
    testing::write_text(dir / "swarm.json", record.dump());
    params = {{"file", (dir / "stack.yml").string()},
              {"stack", "shop"},
              {"pin_from", (dir / "swarm.json").string()}};
  }
  actions::Outcome preflight() {
    const auto* action = actions::builtin_registry().find("docker.stack.deploy");
    REQUIRE(action);
    return action->preflight(ctx, actions::Params(params));
  }
};

}  // namespace

TEST_CASE(
    "on a swarm of three nodes, a pin by bare image ID is refused before anything runs, saying why",
    "[actions][swarm]") {
  DeployFixture f(3, "sha256:1111", "");
  auto outcome = f.preflight();
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message,
             Catch::Contains("step deploy: service api is pinned by bare image ID sha256:1111") &&
                 Catch::Contains("this swarm has 3 nodes") &&
                 Catch::Contains("exists only on the node that built or loaded it"));
  CHECK_FALSE(f.runner.ran("deploy"));
  CHECK_FALSE(f.runner.ran("image"));  // refused before asking about images
}

TEST_CASE("a pin by digest is fine on three nodes, and a pin by ID on one", "[actions][swarm]") {
  DeployFixture by_digest(3, "sha256:1111", "app@sha256:2222");
  CHECK(by_digest.preflight().ok);
  DeployFixture by_id(1, "sha256:1111", "");
  CHECK(by_id.preflight().ok);
  CHECK(by_id.runner.ran("sha256:1111"));  // its presence was checked
}

TEST_CASE("an engine that is not a swarm manager is refused with the way to reach one",
          "[actions][swarm]") {
  DeployFixture f(0, "sha256:1111", "");
  f.runner.swarm_json = R"({"LocalNodeState":"inactive","ControlAvailable":false})";
  auto outcome = f.preflight();
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("is not a swarm manager (swarm state: inactive)") &&
                                  Catch::Contains("never joins or leaves a swarm") &&
                                  Catch::Contains("ssh://"));
}
