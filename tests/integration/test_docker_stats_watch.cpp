// docker.stats and `watch` sampling containers and disk through actions on the real engine.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "support/temp_dir.hpp"
#include "test_docker_support.hpp"

namespace fs = std::filesystem;
using namespace dockertest;

namespace {

std::string start_sleeper(Cleanup& cleanup, const std::string& stem) {
  auto name = unique(stem);
  cleanup.name_prefixes.push_back(name);
  REQUIRE(docker_rc({"run", "-d", "--name", name, image(), "sleep", "60"}) == 0);
  return name;
}

}  // namespace

TEST_CASE("docker.stats reports memory and CPU of each container a filter selects, as measurements",
          "[docker][stats]") {
  require_engine();
  Cleanup cleanup;
  auto name = start_sleeper(cleanup, "rbstats");
  Harness h;
  auto out = h.run("docker.stats", {{"filter", {name}}});
  REQUIRE(out.ok);
  bool memory = false, cpu = false;
  for (const auto& m : out.measurements) {
    memory = memory || (m.metric == rollback::plan::Metric::MemoryPercent && m.subject == name);
    cpu = cpu || (m.metric == rollback::plan::Metric::CpuPercent && m.subject == name);
  }
  CHECK(memory);
  CHECK(cpu);
  auto none = h.run("docker.stats", {{"filter", {"rb-no-such-container-" + name}}});
  CHECK_FALSE(none.ok);
  CHECK_THAT(none.message, Catch::Contains("no running container matches name~rb-no-such-container"));
}

TEST_CASE("watch samples containers through docker.stats and disk through fs.disk_free", "[docker][watch]") {
  require_engine();
  Cleanup cleanup;
  auto name = start_sleeper(cleanup, "rbwatch");
  testing::TempDir dir;
  testing::write_text(dir / "plan.yaml", fmt::format(R"(version: 1
name: watched
vars: {{filter: "{}", data: "{}"}}
steps:
  - {{id: noop, action: wait.sleep, with: {{duration: 1ms}}}}
monitor:
  interval: 1s
  duration: 2s
  containers: {{filter: "${{filter}}"}}
  disk: ["${{data}}"]
  thresholds:
    memory: "< 99%"
    disk_free: "> 0%"
)",
                                                     name, dir.path().string()));
  auto state = (dir / "state").string();
  REQUIRE(testing::run_rollback({"--state-dir", state, (dir / "plan.yaml").string()}).exit_code == 0);
  auto r = testing::run_rollback({"--state-dir", state, "watch", (dir / "plan.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("docker.stats: " + name + "=mem") && Catch::Contains("fs.disk_free:"));
  auto report = testing::read_text(testing::report_path_of(r.out));
  CHECK_THAT(report, Catch::Contains("| memory | " + name + " |") && Catch::Contains("| cpu | " + name + " |") &&
                         Catch::Contains("| disk_free | " + dir.path().string() + " |") &&
                         Catch::Contains("No threshold was breached."));
}
