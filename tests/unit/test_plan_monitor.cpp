#include <catch2/catch.hpp>

#include <rollback/plan/loader.hpp>
#include <rollback/plan/monitor.hpp>

#include "plan_fake_registry.hpp"

using namespace rollback;
using namespace rollback::plan;
using namespace std::chrono_literals;

namespace {

LoadResult load_monitor(const std::string& monitor) {
  std::string text = "version: 1\nname: m\nvars: {url: http://x/, filter: app}\nsteps:\n"
                     "  - {id: a, action: wait.sleep, with: {duration: 1s}}\nmonitor:\n" + monitor;
  return load_plan_text(text, "plan.yaml", testing::plan_test_registry());
}

std::string all_messages(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

}  // namespace

TEST_CASE("thresholds read from plan text", "[plan][monitor]") {
  auto latency = parse_threshold(Metric::LatencyMs, "< 2s", 3min);
  REQUIRE(latency);
  CHECK(latency->limit == 2000);
  CHECK(latency->op == Op::Below);
  CHECK(parse_threshold(Metric::LatencyMs, "<1500", 0ms)->limit == 1500);
  auto disk = parse_threshold(Metric::DiskFreePercent, "> 20%", 0ms);
  REQUIRE(disk);
  CHECK(disk->op == Op::Above);
  CHECK(disk->limit == 20);
  CHECK(parse_threshold(Metric::Error, "< 1%", 0ms)->limit == 1);
  CHECK_FALSE(parse_threshold(Metric::MemoryPercent, "80%", 0ms));
  CHECK_FALSE(parse_threshold(Metric::MemoryPercent, "< lots", 0ms));
  CHECK(describe(*latency) == "latency < 2000ms (tolerated for 3m00s)");
  CHECK(parse_metric("disk_free") == Metric::DiskFreePercent);
  CHECK_FALSE(parse_metric("load"));
}

TEST_CASE("monitor thresholds are read from the plan with their allowances", "[plan][monitor]") {
  auto r = load_monitor(R"(  interval: 30s
  thresholds:
    latency: "< 2s"
    error_rate: "< 1%"
    memory: {limit: "< 80%", for: 5m}
    disk_free: "> 20%"
)");
  INFO(all_messages(r));
  REQUIRE(r.plan);
  const auto& read = r.plan->monitor.thresholds;
  REQUIRE(read.size() == 4);
  CHECK(read[0].metric == Metric::LatencyMs);
  CHECK(read[0].limit == 2000);
  CHECK(read[2].metric == Metric::MemoryPercent);
  CHECK(read[2].allowance == Millis(300'000));
  CHECK(read[3].op == Op::Above);
  CHECK(r.plan->monitor.interval == Millis(30'000));
  CHECK(load_monitor("  interval: 30s\n").plan->monitor.thresholds.empty());
}

TEST_CASE("bad monitor thresholds are all reported with file, line and column", "[plan][monitor]") {
  auto r = load_monitor("  thresholds:\n    load: \"< 3\"\n    memory: 80%\n    cpu: {limit: \"< 70%\", for: soon}\n");
  REQUIRE_FALSE(r.plan);
  auto message = all_messages(r);
  CHECK_THAT(message, Catch::Contains("plan.yaml:8:5: unknown key 'load' in monitor.thresholds"));
  CHECK_THAT(message, Catch::Contains("plan.yaml:9:13: monitor.thresholds.memory: expected"));
  CHECK_THAT(message, Catch::Contains("monitor.thresholds.cpu.for: 'soon' is not a duration"));
}

TEST_CASE("a misspelt threshold gets a did-you-mean at its place", "[plan][monitor]") {
  auto r = load_monitor("  thresholds: {latncy: \"< 2s\"}\n");
  REQUIRE_FALSE(r.plan);
  CHECK_THAT(all_messages(r), Catch::Contains("plan.yaml:7:16: unknown key 'latncy' in monitor.thresholds "
                                              "(did you mean 'latency'?)"));
}

TEST_CASE("monitor samplers are checked against their actions' parameters and references", "[plan][monitor]") {
  auto r = load_monitor("  http: {urll: \"${url}\"}\n  containers: {filter: \"${nope}\"}\n  disk: [\"${missing}\"]\n"
                        "  intervall: 30s\n");
  REQUIRE_FALSE(r.plan);
  auto message = all_messages(r);
  CHECK_THAT(message, Catch::Contains("plan.yaml:7:10: monitor: unknown parameter 'urll' for http.probe (did you mean 'url'?)"));
  CHECK_THAT(message, Catch::Contains("plan.yaml:8:25: monitor: containers.filter: undefined variable ${nope}"));
  CHECK_THAT(message, Catch::Contains("monitor.disk[0]: undefined variable ${missing}"));
  CHECK_THAT(message, Catch::Contains("unknown key 'intervall' in monitor (did you mean 'interval'?)"));
}

TEST_CASE("each monitor sampler becomes a read-only action to run", "[plan][monitor]") {
  auto r = load_monitor("  http: {url: \"${url}\"}\n  containers: {filter: \"${filter}\"}\n  disk: [/a, /b]\n");
  REQUIRE(r.plan);
  const auto& probes = r.plan->monitor.probes;
  REQUIRE(probes.size() == 4);
  CHECK(probes[0].action == "http.probe");
  CHECK(probes[1].action == "docker.stats");
  CHECK(probes[2].action == "fs.disk_free");
  CHECK(probes[2].with["path"].Scalar() == "/a");
  CHECK(probes[3].with["path"].Scalar() == "/b");
}
