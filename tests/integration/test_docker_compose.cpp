// docker.compose, docker.ps and docker.stop against the real engine (compose v1 here): a name
// filter is a prefix anchored at a word boundary, and a paused container fails docker.ps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "test_docker_support.hpp"

using dockertest::Harness;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string stack(const std::string& image) {
  return "version: '2.4'\n"
         "services:\n"
         "  api:\n"
         "    image: " + image + "\n"
         "    command: [\"sh\", \"-c\", \"echo ${GREETING:-none} > /www/greeting; exec httpd -f -p 8080 -h /www\"]\n"
         "    volumes: [\"www:/www\"]\n"
         "    healthcheck:\n"
         "      test: [\"CMD\", \"sh\", \"-c\", \"test -f /www/greeting\"]\n"
         "      interval: 1s\n"
         "      retries: 5\n"
         "  worker:\n"
         "    image: " + image + "\n"
         "    command: [\"sleep\", \"600\"]\n"
         "volumes:\n"
         "  www: {}\n";
}

std::string crashing(const std::string& image) {
  return "version: '2.4'\n"
         "services:\n"
         "  flaky:\n"
         "    image: " + image + "\n"
         "    command: [\"sh\", \"-c\", \"sleep 0.3; exit 3\"]\n"
         "    restart: always\n";
}

}  // namespace

TEST_CASE("compose up waits for every service, ps sees them running, down removes them",
          "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto project = dockertest::unique("rbtest");
  cleanup.projects.push_back(project);
  testing::write_text(dir / "docker-compose.yml", stack(dockertest::image()));
  testing::write_text(dir / ".env.staging", "GREETING=hola\n");
  json base{{"dir", dir.path().string()}, {"project", project}, {"env_file", ".env.staging"}};
  Harness h;

  auto pre = h.preflight("docker.compose", base);
  CHECK(pre.ok);
  auto up = base;
  up["command"] = "up";
  up["wait"] = "60s";
  auto started = h.run("docker.compose", up);
  REQUIRE(started.ok);
  CHECK_THAT(started.message, Catch::Contains("2 service(s) up"));
  CHECK(h.logged("docker-compose"));  // v1 is what this machine has

  auto ps = h.run("docker.ps", {{"project", project}, {"expect_running", {"api", "worker"}}});
  CHECK(ps.ok);
  REQUIRE(ps.observations.size() == 2);
  CHECK_THAT(ps.observations[0].value, Catch::Contains("running (health: healthy)"));

  auto greeting = testing::run_program({"docker", "exec", project + "_api_1", "cat", "/www/greeting"});
  CHECK(greeting.out == "hola\n");

  auto logs_to = dir / "logs/services.log";
  auto logs = base;
  logs["command"] = "logs";
  logs["tail"] = 50;
  logs["to"] = logs_to.string();
  CHECK(h.run("docker.compose", logs).ok);
  CHECK(fs::exists(logs_to));

  auto down = base;
  down["command"] = "down";
  down["remove_orphans"] = true;
  down["volumes"] = true;
  REQUIRE(h.run("docker.compose", down).ok);
  CHECK(dockertest::docker_out({"ps", "-aq", "--filter", "label=com.docker.compose.project=" + project}).empty());
  auto gone = h.run("docker.ps", {{"project", project}, {"expect_running", {"api"}}});
  CHECK_FALSE(gone.ok);
  CHECK_THAT(gone.message, Catch::Contains("api: missing"));
}

TEST_CASE("compose up with wait fails naming a service that keeps restarting, and docker.ps max_restarts "
          "calls it a crash loop from the engine's events", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto project = dockertest::unique("rbtest");
  cleanup.projects.push_back(project);
  testing::write_text(dir / "docker-compose.yml", crashing(dockertest::image()));
  Harness h;
  auto outcome = h.run("docker.compose", {{"dir", dir.path().string()}, {"project", project}, {"command", "up"},
                                          {"wait", "8s"}});
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("services not up after"));
  CHECK_THAT(outcome.message, Catch::Contains("flaky:"));
  REQUIRE(outcome.observations.size() == 1);
  CHECK_FALSE(outcome.observations[0].ok);

  // The die/restart cycles are in the engine's event log now; on a loaded machine the
  // engine's restart backoff may not have reached three of them in those eight seconds.
  auto looping = h.run("docker.ps", {{"project", project}, {"max_restarts", 2}, {"within", "1m"}});
  for (int i = 0; i < 30 && looping.ok; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    looping = h.run("docker.ps", {{"project", project}, {"max_restarts", 2}, {"within", "1m"}});
  }
  INFO(looping.message);
  CHECK_FALSE(looping.ok);
  CHECK_THAT(looping.message, Catch::Contains("crash loop (project " + project + "): ") && Catch::Contains("flaky") &&
                                  Catch::Contains(" died "));
  CHECK_THAT(looping.message, Catch::Contains("in the last 1m00s (more than 2)"));
  auto tolerant = h.run("docker.ps", {{"project", project}, {"max_restarts", 1000}, {"within", "1m"}});
  INFO(tolerant.message);
  CHECK(tolerant.ok);
  CHECK_THAT(tolerant.observations.back().value, Catch::EndsWith(" in 1m00s"));
}

TEST_CASE("compose refuses a missing compose file before running compose", "[docker][integration]") {
  testing::TempDir dir;
  Harness h;
  h.ctx.step_id = "stop";
  auto outcome = h.run("docker.compose", {{"dir", dir.path().string()}, {"command", "down"}});
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::StartsWith("step stop: no compose file in " + dir.path().string()));
  CHECK(h.log.empty());  // nothing was run
  auto named = h.run("docker.compose", {{"dir", dir.path().string()}, {"file", "prod.yml"}, {"command", "up"}});
  CHECK_THAT(named.message, Catch::Contains("compose file " + (dir / "prod.yml").string() + " does not exist"));
}

TEST_CASE("docker.stop stops the containers matching a filter and only those", "[docker][integration]") {
  dockertest::require_engine();
  dockertest::Cleanup cleanup;
  auto prefix = dockertest::unique("rbtest-stop");
  auto other = dockertest::unique("rbtest-keep");
  cleanup.name_prefixes = {prefix, other};
  for (auto name : {prefix + "-a", prefix + "-b", other})
    REQUIRE(dockertest::docker_rc({"run", "-d", "--name", name, dockertest::image(), "sleep", "600"}) == 0);
  Harness h;
  auto stopped = h.run("docker.stop", {{"filter", prefix}, {"time", 1}});
  REQUIRE(stopped.ok);
  CHECK_THAT(stopped.message, Catch::Contains("stopped 2 container(s)"));
  CHECK(dockertest::docker_out({"ps", "-q", "--filter", "name=" + prefix}).empty());
  CHECK_FALSE(dockertest::docker_out({"ps", "-q", "--filter", "name=" + other}).empty());

  auto ps = h.run("docker.ps", {{"filter", prefix}, {"expect_running", {prefix + "-a", other}}});
  CHECK_FALSE(ps.ok);
  REQUIRE(ps.observations.size() == 2);
  CHECK(ps.observations[0].value == "exited");
  CHECK(ps.observations[1].value == "missing");  // not selected by this filter

  auto again = h.run("docker.stop", {{"filter", prefix}});
  CHECK(again.ok);
  CHECK_THAT(again.message, Catch::Contains("no running containers match"));
}

TEST_CASE("the filter staging stops staging, staging-api-1 and staging_api_1, never staging2 nor prod-staging, and the "
          "dry run lists them first",
          "[docker][integration][select]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  // A word of this test's own in place of `staging`: the engine is shared.
  auto word = dockertest::unique("rbsel");
  cleanup.name_prefixes = {word, "prod-" + word};
  for (auto name : {word, word + "-api-1", word + "_api_1", word + "2", "prod-" + word})
    REQUIRE(dockertest::docker_rc(
                {"run", "-d", "--name", name, dockertest::image(), "sleep", "600"}) == 0);
  testing::write_text(dir / "stop.yaml",
                      "version: 1\nname: stop-word\nsteps:\n  - id: stop\n    phase: stop\n"
                      "    action: docker.stop\n    with: {filter: [" +
                          word + "], time: 1}\n");
  auto state = (dir / "state").string();
  auto running = [&] {
    auto names = dockertest::words(
        dockertest::docker_out({"ps", "--format", "{{.Names}}", "--filter", "name=" + word}));
    std::sort(names.begin(), names.end());
    return names;
  };

  auto dry =
      testing::run_rollback({"--state-dir", state, (dir / "stop.yaml").string(), "--dry-run"});
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("would stop 3 container(s): " + word + ", " + word +
                                      "-api-1, " + word + "_api_1"));
  CHECK(running().size() == 5);  // a dry run stops nothing

  auto run = testing::run_rollback({"--state-dir", state, (dir / "stop.yaml").string(), "--yes"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("stopped 3 container(s)"));
  CHECK(running() == std::vector<std::string>{"prod-" + word, word + "2"});
}

TEST_CASE("docker.ps fails while a container it selects is paused", "[docker][integration]") {
  dockertest::require_engine();
  dockertest::Cleanup cleanup;
  auto prefix = dockertest::unique("rbtest-paused");
  cleanup.name_prefixes = {prefix};
  REQUIRE(dockertest::docker_rc(
              {"run", "-d", "--name", prefix + "-db", dockertest::image(), "sleep", "600"}) == 0);
  REQUIRE(dockertest::docker_rc({"pause", prefix + "-db"}) == 0);
  Harness h;
  auto ps = h.run("docker.ps", {{"filter", prefix}});
  CHECK_FALSE(ps.ok);
  CHECK_THAT(ps.message, Catch::Contains("paused") && Catch::Contains(prefix + "-db"));
  REQUIRE(ps.observations.size() == 1);
  CHECK(ps.observations[0].value == "paused");
  CHECK_FALSE(ps.observations[0].ok);
  (void)dockertest::docker_rc({"unpause", prefix + "-db"});
  CHECK(h.run("docker.ps", {{"filter", prefix}}).ok);
}

TEST_CASE("docker.ps expect_running passes when every named container runs", "[docker][integration]") {
  dockertest::require_engine();
  dockertest::Cleanup cleanup;
  auto prefix = dockertest::unique("rbtest-ps");
  cleanup.name_prefixes = {prefix};
  REQUIRE(dockertest::docker_rc({"run", "-d", "--name", prefix + "-web", dockertest::image(), "sleep", "600"}) == 0);
  Harness h;
  auto ps = h.run("docker.ps", {{"filter", prefix}, {"expect_running", {prefix + "-web"}}});
  CHECK(ps.ok);
  REQUIRE(ps.observations.size() == 1);
  CHECK(ps.observations[0].value == "running");
  CHECK(h.action("docker.ps").read_only);
}

TEST_CASE("a compose up that fails on a port already taken says so in its message, not only in the log",
          "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto project = dockertest::unique("rbport");
  cleanup.projects.push_back(project);
  // Something on the host already listens on the port the service publishes.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  testing::write_text(dir / "docker-compose.yml",
                      "version: '2.4'\nservices:\n  api:\n    image: " + dockertest::image() +
                          "\n    command: [sleep, '60']\n    ports: ['" + std::to_string(ntohs(addr.sin_port)) + ":80']\n");
  Harness h;
  auto outcome = h.run("docker.compose", {{"dir", dir.path().string()}, {"project", project}, {"command", "up"}});
  ::close(fd);
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("already"));
}

TEST_CASE("a volume archive in a folder with ':' in its path round-trips, and a runtime dir with one is refused at "
          "preflight, naming it",
          "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbcolon");
  cleanup.volumes.push_back(volume);
  REQUIRE(dockertest::docker_rc({"volume", "create", volume}) == 0);
  dockertest::in_volume(volume, "echo hi > /data/f");
  Harness h;
  // The helper mounts the stream's folder in the runtime dir, never the archive's folder,
  // whose ':' `docker run -v` would read as a separator.
  auto folder = dir / "backups:2025";
  json p{{"volume", volume}, {"archive", (folder / "v.tar.gz").string()}, {"image", dockertest::image()}};
  REQUIRE(h.run("docker.volume.backup", p).ok);
  REQUIRE(h.preflight("docker.volume.restore", p).ok);
  REQUIRE(h.run("docker.volume.restore", p).ok);
  auto runtime = dir / "run:time";
  ::setenv("ROLLBACK_RUNTIME_DIR", runtime.c_str(), 1);
  auto out = h.preflight("docker.volume.restore", p);
  ::unsetenv("ROLLBACK_RUNTIME_DIR");
  CHECK_FALSE(out.ok);
  CHECK_THAT(out.message, Catch::Contains(runtime.string()) && Catch::Contains("has a ':' in its path"));
}
