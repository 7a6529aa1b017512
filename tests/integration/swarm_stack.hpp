// A Swarm stack of its own per test, on the real single-node swarm that the test setup
// (scripts/lib/swarm join) put the engine in: examples/swarm/stack.yml, an API service
// (busybox httpd serving the /www/version baked into its image) published with mode: host on
// a free port, and a worker.
// Images are made per test with `docker commit`, so each version has its own image ID; the
// guard removes the stack, its leftover containers and the images, even when a test fails.
// No test joins or leaves the swarm.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "docker_stack.hpp"
#include "test_docker_support.hpp"

namespace swarmtest {

namespace fs = std::filesystem;
using dockertest::docker_out;
using dockertest::docker_rc;

// Skips (fails under ROLLBACK_REQUIRE_SERVICES=1) unless the engine is an active manager.
inline void require_swarm() {
  dockertest::require_engine();
  auto state =
      docker_out({"info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"});
  if (state.find("active true") == std::string::npos)
    testing::skip(
        "the engine is not a swarm manager (scripts/lib/swarm join; the test setup does it)");
}

// A TCP port nothing listens on right now.
inline unsigned free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class SwarmStack {
 public:
  testing::TempDir dir;
  std::string name = dockertest::unique("rbsw");
  std::string repo = "local/" + name;  // images of this test: local/rbsw-PID-N:TAG
  fs::path stack_dir = dir / "stack";
  fs::path backups = dir / "backups";
  unsigned port = free_port();

  SwarmStack() {
    require_swarm();
    fs::create_directories(stack_dir);
    fs::create_directories(backups);
    // examples/swarm's stack: its images and port come from the env file.
    fs::copy_file(dockertest::source("examples/swarm/stack.yml"), stack_dir / "stack.yml");
  }
  SwarmStack(const SwarmStack&) = delete;
  SwarmStack& operator=(const SwarmStack&) = delete;

  ~SwarmStack() {
    docker_rc({"stack", "rm", name});
    auto label = "label=com.docker.stack.namespace=" + name;
    for (int i = 0; i < 60 && !(docker_out({"service", "ls", "-q", "--filter", label}).empty() &&
                                docker_out({"network", "ls", "-q", "--filter", label}).empty());
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    remove_containers();
    for (const auto& image : images_) docker_rc({"rmi", "-f", image});
  }

  // An image of `repo:tag` whose httpd serves `version` (and "ok" on /health); its ID.
  std::string make_image(const std::string& tag, const std::string& version) {
    return commit_image(
        tag, "mkdir -p /www && echo " + version + " > /www/version && echo ok > /www/health");
  }
  // An image whose API exits at once (httpd cannot enter /www): a release that crashes.
  std::string make_crashing_image(const std::string& tag) {
    return commit_image(tag, "rm -rf /www");
  }

  // `script` run in the base image, committed as `repo:tag`; the new image's ID.
  std::string commit_image(const std::string& tag, const std::string& script) {
    auto builder = dockertest::unique("rbsw-build");
    auto made = testing::run_program({"docker", "run", "--name", builder, "--network", "none",
                                      dockertest::image(), "sh", "-c", script});
    REQUIRE(made.exit_code == 0);
    auto committed = testing::run_program({"docker", "commit", builder, repo + ":" + tag});
    docker_rc({"rm", "-f", builder});
    INFO(committed.err);
    REQUIRE(committed.exit_code == 0);
    auto id = dockertest::words(committed.out).at(0);
    images_.push_back(id);
    images_.push_back(repo + ":" + tag);
    return id;
  }

  // The env file the stack is deployed with (kept in stack_dir, backed up by backup-swarm).
  void write_env(const std::string& api_image, const std::string& release = "1") const {
    testing::write_text(stack_dir / ".env",
                        "API_IMAGE=" + api_image + "\nWORKER_IMAGE=" + dockertest::image() +
                            "\nAPI_PORT=" + std::to_string(port) + "\nRELEASE=" + release + "\n");
  }

  nlohmann::json deploy_params(const std::string& wait = "60s") const {
    return {{"file", (stack_dir / "stack.yml").string()},
            {"env_file", (stack_dir / ".env").string()},
            {"stack", name},
            {"resolve_image", "never"},
            {"wait", wait},
            {"poll", "300ms"}};
  }

  // What the API answers on /version, "" when it does not answer.
  std::string version() const {
    httplib::Client client("127.0.0.1", static_cast<int>(port));
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(std::chrono::seconds(2));
    auto res = client.Get("/version");
    return res && res->status == 200
               ? std::string(dockertest::words(res->body).empty() ? ""
                                                                  : dockertest::words(res->body)[0])
               : "";
  }

  std::string service_image(const std::string& service) const {
    return dockertest::words(
               docker_out({"service", "inspect", "--format",
                           "{{.Spec.TaskTemplate.ContainerSpec.Image}}", name + "_" + service}))
        .at(0);
  }

  std::string service_version_index(const std::string& service) const {
    return docker_out(
        {"service", "inspect", "--format", "{{.Version.Index}}", name + "_" + service});
  }

  // `rollback` with the Swarm plans' vars pointing at this stack.
  std::vector<std::string> args(const std::string& plan, const fs::path& plans_dir,
                                std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{
        plan,
        "--plans-dir",
        plans_dir.string(),
        "--state-dir",
        (dir / "state").string(),
        "--operator",
        "ci",
        "--var",
        "stack=" + name,
        "--var",
        "stack_dir=" + stack_dir.string(),
        "--var",
        "backups=" + backups.string(),
        "--var",
        "health_url=http://127.0.0.1:" + std::to_string(port) + "/health"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  testing::CommandResult rollback(const std::string& plan, std::vector<std::string> extra = {},
                                  const fs::path& plans_dir = dockertest::source("plans")) const {
    auto r = testing::run_rollback(args(plan, plans_dir, std::move(extra)));
    UNSCOPED_INFO("rollback " << plan << " exit " << r.exit_code << "\nstdout:\n"
                              << r.out << "\nstderr:\n"
                              << r.err);
    return r;
  }

  // Stopped task containers of this stack keep their images in use; removing them lets a
  // test remove an image as an operator's `docker image prune` would.
  void remove_containers() const {
    auto ids = dockertest::words(
        docker_out({"ps", "-aq", "--filter", "label=com.docker.stack.namespace=" + name}));
    if (ids.empty()) return;
    std::vector<std::string> argv{"rm", "-f"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    docker_rc(argv);
  }
  void remove_stopped_containers() const {
    auto ids = dockertest::words(
        docker_out({"ps", "-aq", "--filter", "label=com.docker.stack.namespace=" + name, "--filter",
                    "status=exited", "--filter", "status=created"}));
    if (ids.empty()) return;
    std::vector<std::string> argv{"rm"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    docker_rc(argv);
  }

 private:
  std::vector<std::string> images_;
};

// Polls `probe` until it returns true or `limit` passes.
template <class F>
bool eventually(F probe, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return probe();
}

}  // namespace swarmtest
