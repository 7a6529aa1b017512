// docker.stack.deploy, docker.service.rollback, docker.service.ps and docker.stack.record on
// the real single-node swarm, each test in a stack of its own (swarm_stack.hpp).
#include <chrono>

#include "swarm_stack.hpp"

using dockertest::docker_out;
using dockertest::docker_rc;
using dockertest::Harness;
using swarmtest::SwarmStack;
using Clock = std::chrono::steady_clock;

TEST_CASE("deploy v1 with wait, then v2, then docker.service.rollback: the API serves v1 again",
          "[swarm][docker]") {
  SwarmStack s;
  s.make_image("v1", "v1");
  s.make_image("v2", "v2");
  Harness h;

  s.write_env(s.repo + ":v1");
  auto v1 = h.run("docker.stack.deploy", s.deploy_params());
  REQUIRE(v1.ok);
  CHECK_THAT(v1.message, Catch::Contains("2 service(s) converged"));
  // Converged means serving, not merely accepted by Swarm.
  CHECK(s.version() == "v1");

  s.write_env(s.repo + ":v2");
  auto v2 = h.run("docker.stack.deploy", s.deploy_params());
  REQUIRE(v2.ok);
  CHECK(s.version() == "v2");

  auto back = h.run("docker.service.rollback",
                    {{"service", {s.name + "_api"}}, {"wait", "60s"}, {"poll", "300ms"}});
  REQUIRE(back.ok);
  CHECK_THAT(back.message, Catch::Contains(s.repo + ":v2 -> " + s.repo + ":v1"));
  CHECK(s.service_image("api") == s.repo + ":v1");
  CHECK(s.version() == "v1");
  CHECK(docker_out({"service", "inspect", "--format", "{{.UpdateStatus.State}}",
                    s.name + "_api"}) == "rollback_completed\n");

  auto ps = h.run("docker.service.ps", {{"stack", s.name}, {"expect_converged", true}});
  CHECK(ps.ok);
  REQUIRE(ps.observations.size() == 2);
  CHECK(ps.observations[0].value.starts_with("1/1 running"));
}

TEST_CASE(
    "a stack whose task exits at once fails the deploy step, naming the service and its error, "
    "well before "
    "the wait runs out",
    "[swarm][docker]") {
  SwarmStack s;
  s.write_env(s.repo + ":crash");
  s.make_crashing_image("crash");
  Harness h;
  auto started = Clock::now();
  auto deploy = h.run("docker.stack.deploy", s.deploy_params("120s"));
  auto took = Clock::now() - started;
  CHECK_FALSE(deploy.ok);
  CHECK_FALSE(deploy.transient);
  CHECK_THAT(deploy.message, Catch::Contains("service api (" + s.name + "_api)") &&
                                 Catch::Contains("non-zero exit"));
  CHECK(took < std::chrono::seconds(60));
  // The worker converged; the report shows both.
  REQUIRE(deploy.observations.size() == 2);
}

TEST_CASE(
    "docker.service.ps without expect_converged lists replicas, with it, a service below its "
    "replicas fails "
    "as transient",
    "[swarm][docker]") {
  SwarmStack s;
  s.make_image("v1", "v1");
  s.write_env(s.repo + ":v1");
  Harness h;
  REQUIRE(h.run("docker.stack.deploy", s.deploy_params()).ok);
  REQUIRE(docker_rc({"service", "update", "--detach", "--constraint-add",
                     "node.labels.rbsw-none==yes", s.name + "_worker"}) == 0);
  REQUIRE(swarmtest::eventually([&] {
    return !h.run("docker.service.ps", {{"stack", s.name}, {"expect_converged", true}}).ok;
  }));
  auto listing = h.run("docker.service.ps", {{"stack", s.name}});
  CHECK(listing.ok);
  auto failing = h.run("docker.service.ps", {{"stack", s.name}, {"expect_converged", true}});
  CHECK(failing.transient);
  CHECK_THAT(failing.message,
             Catch::Contains("worker: 0/1 running") && Catch::Contains("no suitable node"));
  CHECK(
      h.run("docker.service.ps", {{"service", {s.name + "_api"}}, {"expect_converged", true}}).ok);
}

TEST_CASE(
    "docker.stack.record writes each service's image ID, and a deploy pinned from it runs that "
    "image after the "
    "tag moved",
    "[swarm][docker]") {
  SwarmStack s;
  auto good = s.make_image("app", "v1");
  s.write_env(s.repo + ":app");
  Harness h;
  REQUIRE(h.run("docker.stack.deploy", s.deploy_params()).ok);
  auto record_path = s.dir / "swarm.json";
  auto record = h.run("docker.stack.record", {{"stack", s.name}, {"to", record_path.string()}});
  REQUIRE(record.ok);
  auto recorded = nlohmann::json::parse(testing::read_text(record_path));
  CHECK(recorded["services"]["api"]["image_id"] == good);
  CHECK(recorded["services"]["api"]["digest"] == "");  // never pushed: no digest exists
  CHECK(recorded["services"]["worker"]["image_id"].get<std::string>().starts_with("sha256:"));

  s.make_image("app", "v2");  // the tag moves to other content
  s.write_env(s.repo + ":app", "2");
  REQUIRE(h.run("docker.stack.deploy", s.deploy_params()).ok);
  REQUIRE(s.version() == "v2");

  auto params = s.deploy_params();
  params["pin_from"] = record_path.string();
  REQUIRE(h.preflight("docker.stack.deploy", params).ok);
  auto pinned = h.run("docker.stack.deploy", params);
  REQUIRE(pinned.ok);
  CHECK(s.service_image("api") == good);
  CHECK(s.version() == "v1");
}
