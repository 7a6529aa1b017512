// docker.stack.deploy's convergence wait on the real single-node swarm, where it used to
// fail or lie (issue 24): a stop-first update of a service whose process ignores SIGTERM
// (its old task takes its whole stop grace period to stop), and a task that exits at once,
// deployed while every CPU is busy.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "swarm_stack.hpp"

namespace fs = std::filesystem;
using dockertest::docker_out;
using dockertest::Harness;
using swarmtest::SwarmStack;
using Clock = std::chrono::steady_clock;

namespace {

// Busy-loop children, one a CPU (at least two), for as long as it lives: the machine of an
// on-call engineer in an incident. Killed on every path out of the test, and with the test
// process itself (PR_SET_PDEATHSIG) should it die first.
class CpuHog {
 public:
  CpuHog() {
    auto parent = ::getpid();
    auto count = std::max(2U, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < count; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(0);
        volatile unsigned long spin = 0;
        for (;;) spin = spin + 1;
      }
      if (pid > 0) children_.push_back(pid);
    }
    REQUIRE(children_.size() == count);
  }
  CpuHog(const CpuHog&) = delete;
  CpuHog& operator=(const CpuHog&) = delete;
  ~CpuHog() {
    for (auto pid : children_) ::kill(pid, SIGKILL);
    for (auto pid : children_) ::waitpid(pid, nullptr, 0);
  }

 private:
  std::vector<pid_t> children_;
};

// A service whose PID 1 ignores SIGTERM (docker stop waits its 15 s grace period, then
// kills it), published on a host port, so a stop-first update's new task pends on that
// port until the old task is gone.
constexpr const char* kStubbornStack = R"(version: "3.8"
services:
  api:
    image: ${API_IMAGE}
    command: ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
    environment:
      RELEASE: ${RELEASE}
    stop_grace_period: 15s
    ports:
      - target: 8080
        published: ${API_PORT}
        mode: host
    deploy:
      update_config: {monitor: 1s, order: stop-first}
)";

// One step: deploy the stack file in stack_dir and wait (polling often, so a short moment
// between the old task's end and the new one's start is seen when it happens).
constexpr const char* kDeployPlan = R"(version: 1
name: deploy
description: deploy the test's stack and wait until it converged
vars:
  stack: none
  stack_dir: /nonexistent
  backups: /nonexistent
  health_url: http://127.0.0.1/
steps:
  - id: deploy
    phase: start
    action: docker.stack.deploy
    timeout: 3m
    with:
      file: ${stack_dir}/stubborn.yml
      env_file: ${stack_dir}/.env
      stack: ${stack}
      resolve_image: never
      wait: 150s
      poll: 100ms
)";

}  // namespace

TEST_CASE(
    "a swarm service whose process ignores SIGTERM updates stop-first with exit 0, its new task "
    "pending on the port for longer than `pending`",
    "[swarm][docker][swarm-wait]") {
  SwarmStack s;
  testing::write_text(s.stack_dir / "stubborn.yml", kStubbornStack);
  auto plans = s.dir / "plans";
  fs::create_directories(plans);
  testing::write_text(plans / "deploy.yaml", kDeployPlan);

  s.write_env(dockertest::image(), "1");
  REQUIRE(s.rollback("deploy", {"--yes"}, plans).exit_code == 0);

  s.write_env(dockertest::image(), "2");
  auto started = Clock::now();
  auto update = s.rollback("deploy", {"--yes"}, plans);
  auto took = Clock::now() - started;
  CHECK(update.exit_code == 0);
  CHECK_THAT(update.out, Catch::Contains("1 service(s) converged"));
  // The old task really took its grace period: the new one pended longer than the 10 s
  // `pending` limit before it could start.
  CHECK(took > std::chrono::seconds(15));
  CHECK(docker_out({"service", "inspect", "--format", "{{.UpdateStatus.State}}",
                    s.name + "_api"}) == "completed\n");
  CHECK_THAT(docker_out({"service", "inspect", "--format",
                         "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", s.name + "_api"}),
             Catch::Contains("RELEASE=2"));
}

TEST_CASE(
    "a stack whose task exits at once fails the deploy step while every CPU is busy, never "
    "reported converged",
    "[swarm][docker][swarm-wait]") {
  // Twice: one lucky run would prove little about a race.
  SwarmStack first, second;
  for (auto* s : {&first, &second}) {
    s->make_crashing_image("crash");
    s->write_env(s->repo + ":crash");
  }
  Harness h;
  CpuHog hog;
  for (auto* s : {&first, &second}) {
    auto deploy = h.run("docker.stack.deploy", s->deploy_params("150s"));
    INFO(deploy.message);
    CHECK_FALSE(deploy.ok);
    CHECK_FALSE(deploy.transient);
    CHECK_THAT(deploy.message, Catch::Contains("service api (" + s->name + "_api)") &&
                                   Catch::Contains("non-zero exit"));
    CHECK_THAT(deploy.message, !Catch::Contains("converged"));
  }
}

TEST_CASE(
    "a wait on a fast crash loop runs out as not converged: tasks Swarm deletes between the "
    "listing "
    "and the inspect, and dozens of them, do not break it",
    "[swarm][docker][swarm-wait]") {
  // Restarted at once, four replicas churn through tasks: Swarm deletes the oldest (task
  // history limit) while we look, and keeps more of them than 64 KB of pretty JSON holds.
  SwarmStack s;
  testing::write_text(s.stack_dir / "churn.yml", R"(version: "3.8"
services:
  api:
    image: )" + dockertest::image() + R"(
    command: ["httpd", "-f", "-p", "8080", "-h", "/nonexistent"]
    deploy:
      replicas: 4
      restart_policy: {condition: any, delay: 0s}
)");
  Harness h;
  auto deploy = h.run("docker.stack.deploy", {{"file", (s.stack_dir / "churn.yml").string()},
                                              {"stack", s.name},
                                              {"resolve_image", "never"},
                                              {"wait", "30s"},
                                              {"poll", "100ms"},
                                              {"max_failures", 100000}});
  INFO(deploy.message);
  CHECK_FALSE(deploy.ok);
  CHECK(deploy.transient);
  CHECK_THAT(deploy.message,
             Catch::Contains("not converged after") && Catch::Contains("/4 running"));
  CHECK_THAT(deploy.message, !Catch::Contains("docker inspect"));
}
