// The convergence wait of docker.stack.deploy (issue 24): a task counts only once it has
// stayed running through the monitor period, seen by two consecutive polls; a pending task's
// age counts from when nothing of its service is winding down; a task that vanished between
// the listing and the inspect is skipped. Verdicts on recorded JSON (tests/fixtures/swarm),
// and the wait loop against a scripted fake engine.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <thread>

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

TaskState& task(std::vector<TaskState>& tasks, const std::string& id_prefix) {
  for (auto& t : tasks)
    if (t.id.starts_with(id_prefix)) return t;
  FAIL("no task " << id_prefix);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a running task counts only when the poll before saw it running since the same moment",
          "[actions][swarm][swarm-wait]") {
  auto r = recorded("converged");  // rhf13iec running since 07:18:16.39, monitor 2s
  JudgeOptions o{.goal = Goal::Deploy, .now = r.now, .since = at("2026-11-26T07:18:09Z")};
  auto once = judge(r.services[0], r.tasks, o);
  CHECK(once.state == Convergence::Converging);
  CHECK_THAT(once.detail, Catch::Contains("looking again to confirm it still runs"));
  CHECK(once.ready_in == kConfirmAfter);

  o.previous = r.tasks;
  CHECK(judge(r.services[0], r.tasks, o).state == Convergence::Converged);

  // The poll before saw it starting, or running since another moment: not yet.
  task(o.previous, "rhf13iec").state = "starting";
  CHECK(judge(r.services[0], r.tasks, o).state == Convergence::Converging);
  task(o.previous, "rhf13iec").state = "running";
  task(o.previous, "rhf13iec").since = at("2026-11-26T07:18:15Z");
  CHECK(judge(r.services[0], r.tasks, o).state == Convergence::Converging);

  // A rollback is judged the same way; observing (docker.service.ps) is not.
  auto done = recorded("rollback-completed");
  JudgeOptions back{.goal = Goal::Rollback, .now = done.now, .since = at("2026-11-26T07:17:20Z")};
  CHECK(judge(done.services[0], done.tasks, back).state == Convergence::Converging);
  back.previous = done.tasks;
  CHECK(judge(done.services[0], done.tasks, back).state == Convergence::Converged);
  CHECK(judge(r.services[0], r.tasks, {.goal = Goal::Observe, .now = r.now}).state ==
        Convergence::Converged);
}

TEST_CASE(
    "a task is held for its monitor period plus the settle margin, the time the engine takes to "
    "notice a process that exited",
    "[actions][swarm][swarm-wait]") {
  auto r = recorded("converged");  // running since 07:18:16.391, monitor 2s
  JudgeOptions o{.goal = Goal::Deploy, .since = at("2026-11-26T07:18:09Z"), .previous = r.tasks};
  o.now = at("2026-11-26T07:18:19.391Z");  // 3 s: past the monitor period, not the margin
  auto v = judge(r.services[0], r.tasks, o);
  CHECK(v.state == Convergence::Converging);
  CHECK_THAT(v.detail, Catch::Contains("holding for the 2.0s monitor period + 2.0s"));
  CHECK(v.ready_in == 2s + kSettle - 3s);
  o.now = at("2026-11-26T07:18:20.392Z");
  CHECK(judge(r.services[0], r.tasks, o).state == Convergence::Converged);
}

TEST_CASE(
    "a stop-first update's new task pending on the port counts its pending time from when the old "
    "task stopped",
    "[actions][swarm][swarm-wait]") {
  // The new task pends on the host port from 07:18:25.26; the old one (rhf13iec) ignores
  // SIGTERM and stops only after its 15 s grace period.
  auto r = recorded("updating-port-wait");
  JudgeOptions o{.goal = Goal::Deploy,
                 .now = at("2026-11-26T07:18:40.5Z"),
                 .since = at("2026-11-26T07:18:25Z"),
                 .pending_limit = 10s};
  auto& old = task(r.tasks, "rhf13iec");
  CHECK(judge(r.services[0], r.tasks, o).state == Convergence::Converging);  // still stopping
  old.state = "shutdown";
  old.since = at("2026-11-26T07:18:40.2Z");
  // 15.2 s since the new task was created, 0.3 s since nothing winds down: not stuck.
  auto v = judge(r.services[0], r.tasks, o);
  CHECK(v.state == Convergence::Converging);
  CHECK_THAT(v.detail, Catch::Contains("update in progress") && !Catch::Contains("pending for"));
  // Still pending 10 s after the port was freed: stuck.
  o.now = at("2026-11-26T07:18:50.3Z");
  v = judge(r.services[0], r.tasks, o);
  CHECK(v.state == Convergence::Failed);
  CHECK_THAT(v.detail, Catch::Contains("task pending for 10.1s: no suitable node"));
}

TEST_CASE("a pending task with nothing ever winding down keeps its own age",
          "[actions][swarm][swarm-wait]") {
  auto r = recorded("fresh-crash-stuck");  // swx2_stuck pending since 07:16:34.69, alone
  const ServiceState* stuck = nullptr;
  for (const auto& s : r.services)
    if (s.name == "swx2_stuck") stuck = &s;
  REQUIRE(stuck);
  auto v = judge(*stuck, r.tasks,
                 {.goal = Goal::Deploy, .now = r.now, .since = at("2026-11-26T07:16:34Z")});
  CHECK(v.state == Convergence::Failed);
  CHECK_THAT(v.detail, Catch::Contains("task pending for 19.6s"));
}

TEST_CASE("task lines as `docker inspect --format` prints them parse like the JSON array",
          "[actions][swarm][swarm-wait]") {
  auto tasks = parse_task_lines(
      R"({"ID":"t1","ServiceID":"s1","NodeID":"n1","Slot":1,"DesiredState":"running",)"
      R"("Status":{"Timestamp":"2026-11-26T07:00:00.5Z","State":"running","ContainerStatus":)"
      R"({"ContainerID":"c1","PID":7,"ExitCode":0},"PortStatus":{}},)"
      R"("Spec":{"ContainerSpec":{"Image":"app:1"},"ForceUpdate":2}})"
      "\n\n");
  REQUIRE(tasks);
  REQUIRE(tasks->size() == 1);
  const auto& t = (*tasks)[0];
  CHECK(t.id == "t1");
  CHECK(t.service_id == "s1");
  CHECK(t.state == "running");
  CHECK(t.since == at("2026-11-26T07:00:00.5Z"));
  CHECK(t.container_id == "c1");
  CHECK(t.image == "app:1");
  CHECK(t.force_update == 2);
  CHECK(parse_task_lines("")->empty());
  auto bad = parse_task_lines("[]\n");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("docker inspect --type task"));
}

namespace {

// A swarm of one node, one service (shop_api, restart `restart`, monitor 1 ms) whose tasks
// each `docker inspect --type task` reads from the next scripted poll (the last repeats).
// Task times are relative to the engine time `docker info` reports.
class ScriptedSwarm final : public proc::Runner {
 public:
  struct Task {
    std::string id, desired, state;
    Millis since;  // from the engine time `docker info` reports
    std::string err;
  };
  struct Poll {
    std::vector<Task> tasks;
    std::vector<std::string> vanished;  // listed by `service ps`, gone at `inspect`
    int exit_code = 0;                  // of the inspect; 1 when an ID is gone
    std::string err;
  };
  std::vector<Poll> polls;
  std::string restart = "any";
  Millis inspect_takes{0};
  std::vector<std::chrono::steady_clock::time_point> inspected;  // when each inspect began
  std::chrono::steady_clock::time_point info_asked;
  std::vector<std::vector<std::string>> calls;

  static constexpr const char* kEngineTime = "2026-11-26T07:00:00Z";

  Result<proc::Completed> run(const proc::Command& command) override {
    std::lock_guard lock(mutex_);
    calls.push_back(command.argv);
    proc::Completed done;
    done.exit_code = 0;
    auto has = [&](const std::vector<std::string>& words) {
      return std::search(command.argv.begin(), command.argv.end(), words.begin(), words.end()) !=
             command.argv.end();
    };
    if (has({"info"})) {
      info_asked = std::chrono::steady_clock::now();
      done.out = fmt::format(
          "{} {{\"LocalNodeState\":\"active\",\"ControlAvailable\":true,\"Nodes\":1,"
          "\"NodeID\":\"n1\"}}\n",
          kEngineTime);
    } else if (has({"service", "ls"})) {
      done.out = "s1\n";
    } else if (has({"service", "inspect"})) {
      done.out = service_json();
    } else if (has({"service", "ps"})) {
      for (const auto& id : current().vanished) done.out += id + "\n";
      for (const auto& t : current().tasks) done.out += t.id + "\n";
    } else if (has({"inspect", "--type", "task"})) {
      inspected.push_back(std::chrono::steady_clock::now());
      std::this_thread::sleep_for(inspect_takes);
      const auto& poll = current();
      for (const auto& t : poll.tasks) done.out += task_line(t) + "\n";
      done.exit_code = poll.exit_code;
      done.err = poll.err;
      ++inspects_;
    }
    return done;
  }
  size_t inspects() const { return inspects_; }
  // The engine time at a moment of the test's clock (at least what the action computes).
  SystemTime engine_time(std::chrono::steady_clock::time_point when) const {
    return at(kEngineTime) + std::chrono::duration_cast<SystemTime::duration>(when - info_asked);
  }

 private:
  std::mutex mutex_;
  size_t inspects_ = 0;

  const Poll& current() const { return polls.at(std::min(inspects_, polls.size() - 1)); }

  std::string service_json() const {
    return fmt::format(
        R"([{{"ID":"s1","Spec":{{"Name":"shop_api","Labels":{{"com.docker.stack.namespace":"shop"}},)"
        R"("Mode":{{"Replicated":{{"Replicas":1}}}},"TaskTemplate":{{"ContainerSpec":{{"Image":"app:1"}},)"
        R"("RestartPolicy":{{"Condition":"{}"}}}},"UpdateConfig":{{"Monitor":1000000}}}}}}])",
        restart);
  }
  static std::string task_line(const Task& t) {
    auto since = format_iso_utc(at(kEngineTime) + t.since);
    return fmt::format(R"({{"ID":"{}","ServiceID":"s1","NodeID":"n1","Slot":1,"DesiredState":"{}",)"
                       R"("Status":{{"Timestamp":"{}","State":"{}","Err":"{}"}},)"
                       R"("Spec":{{"ContainerSpec":{{"Image":"app:1"}},"ForceUpdate":0}}}})",
                       t.id, t.desired, since, t.state, t.err);
  }
};

struct WaitFixture {
  testing::TempDir dir;
  ScriptedSwarm engine;
  actions::ActionContext ctx{.step_id = "deploy", .runner = engine, .set_var = {}, .log = {}};

  WaitFixture() {
    testing::write_text(dir / "stack.yml",
                        "version: \"3.8\"\nservices:\n  api:\n    image: app:1\n");
  }
  actions::Outcome deploy(const std::string& poll = "50ms") {
    const auto* action = actions::builtin_registry().find("docker.stack.deploy");
    REQUIRE(action);
    nlohmann::json params{
        {"file", (dir / "stack.yml").string()}, {"stack", "shop"}, {"wait", "30s"}, {"poll", poll}};
    return action->run(ctx, actions::Params(params));
  }
};

using Task = ScriptedSwarm::Task;

}  // namespace

TEST_CASE("a task that one poll sees running and the next sees failed never counts as converged",
          "[actions][swarm][swarm-wait]") {
  WaitFixture f;
  f.engine.restart = "none";  // one failure is certain failure
  // The first look catches the moment the engine still reports the task running, already
  // old enough for the monitor period: the race that once reported "converged".
  f.engine.polls = {{.tasks = {{"t1", "running", "running", -10s, ""}}},
                    {.tasks = {{"t1", "shutdown", "failed", 1s, "task: non-zero exit (1)"}}}};
  auto outcome = f.deploy();
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("service api (shop_api)") &&
                                  Catch::Contains("task: non-zero exit (1)"));
  CHECK_THAT(outcome.message, !Catch::Contains("converged"));
  CHECK(f.engine.inspects() == 2);
}

TEST_CASE("a task two consecutive polls see running since the same moment has converged",
          "[actions][swarm][swarm-wait]") {
  WaitFixture f;
  f.engine.polls = {{.tasks = {{"t1", "running", "running", -10s, ""}}}};
  auto outcome = f.deploy();
  CHECK(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("stack shop deployed; 1 service(s) converged"));
  CHECK(f.engine.inspects() == 2);
}

TEST_CASE(
    "ages are judged at the moment the tasks were asked for, not when a slow answer came back",
    "[actions][swarm][swarm-wait]") {
  WaitFixture f;
  f.engine.inspect_takes = 700ms;  // a loaded machine: each look takes a while
  f.engine.polls = {{.tasks = {{"t1", "running", "running", 0s, ""}}}};
  auto outcome = f.deploy("100ms");
  REQUIRE(outcome.ok);
  REQUIRE(f.engine.inspected.size() >= 2);
  // The look that proved it had begun after the task had run its monitor period (1 ms)
  // plus the settle margin.
  auto proof = f.engine.engine_time(f.engine.inspected.back());
  CHECK(proof - at(ScriptedSwarm::kEngineTime) >= 1ms + kSettle);
}

TEST_CASE(
    "a task gone between the listing and the inspect is skipped, other inspect errors fail the "
    "wait",
    "[actions][swarm][swarm-wait]") {
  WaitFixture f;
  // docker inspect prints the tasks it found and exits 1 for the one Swarm removed.
  f.engine.polls = {{.tasks = {{"t1", "running", "running", -10s, ""}},
                     .vanished = {"t0"},
                     .exit_code = 1,
                     .err = "Error response from daemon: task t0 not found\n"},
                    {.tasks = {{"t1", "running", "running", -10s, ""}},
                     .vanished = {"t0", "t9"},
                     .exit_code = 1,
                     .err = "Error: No such task: t0\nError: No such task: t9\n"}};
  auto outcome = f.deploy();
  CHECK(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("1 service(s) converged"));

  WaitFixture down;
  down.engine.polls = {{.tasks = {},
                        .vanished = {"t0"},
                        .exit_code = 1,
                        .err = "Error response from daemon: This node is not a swarm manager.\n"}};
  auto failed = down.deploy();
  CHECK_FALSE(failed.ok);
  CHECK_THAT(failed.message, Catch::Contains("docker inspect --type task -- t0 failed (exit 1)") &&
                                 Catch::Contains("not a swarm manager"));
  CHECK_THAT(failed.message, !Catch::Contains("{{json"));
}
