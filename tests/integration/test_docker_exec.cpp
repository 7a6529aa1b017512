// docker.exec on the real engine: a compose project's service (found by the engine's labels,
// as compose sets them) or a container by name; expect_exit, expect_output and into.
#include <catch2/catch.hpp>

#include "test_docker_support.hpp"

using namespace dockertest;
using nlohmann::json;

namespace {

// A container labelled as compose labels a service's container, running a shell that waits.
struct Service {
  Cleanup cleanup;
  std::string project = unique("rbexec");
  std::string name = project + "_db_1";
  Service() {
    require_engine();
    cleanup.projects.push_back(project);
    cleanup.name_prefixes.push_back(name);
    REQUIRE(docker_rc({"run", "-d", "--name", name, "--label", "com.docker.compose.project=" + project, "--label",
                       "com.docker.compose.service=db", image(), "sleep", "300"}) == 0);
  }
};

}  // namespace

TEST_CASE("docker.exec runs argv in a project's service, keeps its output into a var and checks it", "[docker][exec]") {
  Service s;
  Harness h;
  auto ok = h.run("docker.exec", {{"project", s.project}, {"service", "db"}, {"argv", {"sh", "-c", "echo 2 instances"}},
                                  {"expect_output", "instances"}, {"into", "count"}});
  CHECK(ok.ok);
  CHECK(h.vars["count"] == "2 instances");
  CHECK_THAT(ok.message, Catch::Contains("in service db of project " + s.project + ": exit 0, 2 instances"));

  // The argv reaches the container as-is: a value with shell characters is one argument.
  auto literal = h.run("docker.exec", {{"container", s.name}, {"argv", {"echo", "$(id); rm -rf /"}}, {"into", "echoed"}});
  CHECK(literal.ok);
  CHECK(h.vars["echoed"] == "$(id); rm -rf /");

  auto missing = h.run("docker.exec", {{"project", s.project}, {"service", "db"}, {"argv", {"true"}},
                                       {"expect_output", "accepting connections"}});
  CHECK_FALSE(missing.ok);
  CHECK_THAT(missing.message, Catch::Contains("expected the output to contain \"accepting connections\""));
}

TEST_CASE("docker.exec fails on an unexpected exit code naming it, passes an expected one, and a service with no "
          "running container is a transient failure",
          "[docker][exec]") {
  Service s;
  Harness h;
  auto failed = h.run("docker.exec", {{"container", s.name}, {"argv", {"sh", "-c", "echo no >&2; exit 3"}}});
  CHECK_FALSE(failed.ok);
  CHECK_THAT(failed.message, Catch::Contains("exited 3, expected 0: no"));
  auto expected = h.run("docker.exec", {{"container", s.name}, {"argv", {"sh", "-c", "exit 3"}}, {"expect_exit", 3}});
  CHECK(expected.ok);
  auto absent = h.run("docker.exec", {{"project", s.project}, {"service", "api"}, {"argv", {"true"}}});
  CHECK_FALSE(absent.ok);
  CHECK(absent.transient);
  CHECK_THAT(absent.message, Catch::Contains("no running container for service api of project " + s.project));
}
