// Helpers for the docker.* integration tests: skip without an engine, unique names, and a
// guard that removes every container, network and volume a test made, even on failure.
#pragma once

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/proc/runner.hpp>

#include "support/temp_dir.hpp"

namespace dockertest {

inline std::string image() {
  const char* env = std::getenv("ROLLBACK_TEST_IMAGE");
  return env && *env ? env : "local/busybox";
}

// Skips the test unless a daemon answers and the helper image is there.
inline void require_engine() {
  if (testing::run_program({"docker", "info"}).exit_code != 0)
    testing::skip("no Docker daemon answers `docker info` (scripts/lib/docker-daemon start)");
  if (testing::run_program({"docker", "image", "inspect", image()}).exit_code != 0)
    testing::skip(image() + " is not present (scripts/lib/busybox-image)");
}

inline std::string unique(const std::string& stem) {
  std::random_device rd;
  return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
}

inline std::string docker_out(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run_program(argv).out;
}

inline int docker_rc(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run_program(argv).exit_code;
}

inline std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text) {
    if (c == '\n' || c == ' ' || c == '\t') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

// Removes what a test created, whatever happened in it.
class Cleanup {
 public:
  std::vector<std::string> projects;
  std::vector<std::string> name_prefixes;
  std::vector<std::string> volumes;
  ~Cleanup() {
    for (const auto& p : projects) {
      auto label = "label=com.docker.compose.project=" + p;
      remove("rm", {"-f"}, docker_out({"ps", "-aq", "--filter", label}));
      remove("network", {"rm"}, docker_out({"network", "ls", "-q", "--filter", label}));
      remove("volume", {"rm", "-f"}, docker_out({"volume", "ls", "-q", "--filter", label}));
    }
    for (const auto& n : name_prefixes) remove("rm", {"-f"}, docker_out({"ps", "-aq", "--filter", "name=" + n}));
    for (const auto& v : volumes) docker_rc({"volume", "rm", "-f", v});
  }

 private:
  static void remove(const std::string& verb, std::vector<std::string> args, const std::string& ids) {
    auto list = words(ids);
    if (list.empty()) return;
    std::vector<std::string> argv{verb};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), list.begin(), list.end());
    docker_rc(argv);
  }
};

// Runs one action for real, as the engine would, with the step's log collected.
struct Harness {
  rollback::proc::SystemRunner runner;
  std::vector<std::string> log;
  std::map<std::string, std::string> vars;
  rollback::actions::ActionContext ctx{
      .step_id = "test-step",
      .runner = runner,
      .set_var = [this](const std::string& k, const std::string& v) { vars[k] = v; },
      .log = [this](std::string_view line) { log.emplace_back(line); },
  };

  Harness() { ctx.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3); }

  const rollback::actions::Action& action(const std::string& name) {
    const auto* found = rollback::actions::builtin_registry().find(name);
    REQUIRE(found != nullptr);
    return *found;
  }
  rollback::actions::Outcome run(const std::string& name, nlohmann::json params) {
    auto outcome = action(name).run(ctx, rollback::actions::Params(std::move(params)));
    UNSCOPED_INFO(name << ": " << outcome.message);
    return outcome;
  }
  rollback::actions::Outcome preflight(const std::string& name, nlohmann::json params) {
    const auto& a = action(name);
    REQUIRE(a.preflight);
    return a.preflight(ctx, rollback::actions::Params(std::move(params)));
  }
  bool logged(const std::string& fragment) const {
    for (const auto& line : log)
      if (line.find(fragment) != std::string::npos) return true;
    return false;
  }
};

// sha256 of every file in a volume, sorted by path: equal strings = identical content.
inline std::string volume_sums(const std::string& volume) {
  auto r = testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data:ro", image(), "sh", "-c",
                                 "cd /data && find . -type f | sort | xargs -r sha256sum"});
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// Runs a literal script in a container with the volume at /data.
inline void in_volume(const std::string& volume, const std::string& script) {
  auto r = testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data", image(), "sh", "-c", script});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace dockertest
