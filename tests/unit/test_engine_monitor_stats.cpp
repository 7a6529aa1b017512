#include <catch2/catch.hpp>

#include <support/temp_dir.hpp>

#include <rollback/engine/monitor_stats.hpp>

using namespace rollback;
using namespace rollback::engine;
using namespace std::chrono_literals;

namespace {

const SystemTime t0 = SystemTime{} + 1'700'000'000s;

Series series_of(std::initializer_list<double> values, std::chrono::seconds every = 60s) {
  Series s;
  auto at = t0;
  for (double v : values) {
    s.add(at, v);
    at += every;
  }
  return s;
}

}  // namespace

TEST_CASE("statistics use nearest-rank percentiles over the samples", "[monitor]") {
  auto s = series_of({300, 100, 200, 500, 400, 1000, 600, 700, 800, 900});
  auto st = stats(s);
  REQUIRE(st);
  CHECK(st->count == 10);
  CHECK(st->min == 100);
  CHECK(st->median == 500);  // ceil(0.5 * 10) = 5th smallest
  CHECK(st->p95 == 1000);    // ceil(0.95 * 10) = 10th
  CHECK(st->max == 1000);
  CHECK(nearest_rank({15, 20, 35, 40, 50}, 30) == 20);
  CHECK(nearest_rank({15, 20, 35, 40, 50}, 100) == 50);
  CHECK(nearest_rank({7}, 0) == 7);
  CHECK_FALSE(stats(Series{}));
}

TEST_CASE("the error rate is the percentage of failed probes", "[monitor]") {
  CHECK(error_rate_percent(series_of({0, 1, 0, 0})) == Approx(25.0));
  CHECK(error_rate_percent(Series{}) == 0);
}

TEST_CASE("a series keeps at most its capacity and counts what it dropped", "[monitor]") {
  Series s(3);
  for (int i = 0; i < 5; ++i) s.add(t0 + i * 1s, i);
  CHECK(s.size() == 3);
  CHECK(s.dropped() == 2);
  CHECK(s.samples().front().value == 2);
  CHECK(stats(s)->min == 2);
}

TEST_CASE("latency beyond its limit for less than the allowance is no breach", "[monitor]") {
  Threshold t{Metric::LatencyMs, Op::Below, 2000, 3min};
  // Slow at minutes 1 and 2 (1 minute long), then healthy.
  CHECK(breaches(series_of({100, 2500, 3000, 150, 120}), t).empty());
}

TEST_CASE("latency beyond its limit for the allowance is one breach with its worst value",
          "[monitor]") {
  Threshold t{Metric::LatencyMs, Op::Below, 2000, 3min};
  auto s = series_of({100, 2500, 4000, 2100, 3000, 150, 5000});
  auto found = breaches(s, t, "https://api/health");
  REQUIRE(found.size() == 1);
  CHECK(found[0].start == t0 + 1min);
  CHECK(found[0].end == t0 + 4min);
  CHECK(found[0].worst == 4000);
  CHECK(found[0].subject == "https://api/health");
  // Without an allowance the single slow sample at the end counts too.
  CHECK(breaches(s, {Metric::LatencyMs, Op::Below, 2000, 0ms}).size() == 2);
}

TEST_CASE("the limit itself is a breach: the healthy side is strict", "[monitor]") {
  CHECK(breaches(series_of({80}), {Metric::MemoryPercent, Op::Below, 80, 0ms}).size() == 1);
  CHECK(breaches(series_of({20}), {Metric::DiskFreePercent, Op::Above, 20, 0ms}).size() == 1);
}

TEST_CASE("free disk below its floor is a breach whose worst is the lowest", "[monitor]") {
  auto found = breaches(series_of({30, 19, 12, 15, 25}), {Metric::DiskFreePercent, Op::Above, 20, 0ms});
  REQUIRE(found.size() == 1);
  CHECK(found[0].worst == 12);
}

TEST_CASE("an error rate over its limit is one breach over the whole window", "[monitor]") {
  Threshold t{Metric::Error, Op::Below, 1, 0ms};
  std::vector<double> flags(200, 0.0);
  flags[10] = 1;
  flags[20] = 1;
  flags[30] = 1;  // 1.5 %
  Series s;
  for (size_t i = 0; i < flags.size(); ++i) s.add(t0 + i * 10s, flags[i]);
  auto found = breaches(s, t);
  REQUIRE(found.size() == 1);
  CHECK(found[0].worst == Approx(1.5));
  CHECK(found[0].end == t0 + 199 * 10s);
  Series exactly_one_percent;
  for (size_t i = 0; i < 100; ++i) exactly_one_percent.add(t0 + i * 10s, i == 50 ? 1 : 0);
  CHECK(breaches(exactly_one_percent, t).size() == 1);  // 1 % is not "< 1 %"
  CHECK(breaches(series_of({0, 0, 0}), t).empty());
}

TEST_CASE("a monitor evaluates every subject of a metric, oldest breach first", "[monitor]") {
  Monitor m;
  for (int i = 0; i < 4; ++i) {
    m.add(Metric::MemoryPercent, "app", t0 + i * 1min, i >= 2 ? 90 : 50);
    m.add(Metric::MemoryPercent, "db", t0 + i * 1min, i <= 1 ? 85 : 40);
    m.add(Metric::CpuPercent, "app", t0 + i * 1min, 10);
  }
  auto found = m.evaluate({{Metric::MemoryPercent, Op::Below, 80, 0ms},
                           {Metric::CpuPercent, Op::Below, 70, 0ms}});
  REQUIRE(found.size() == 2);
  CHECK(found[0].subject == "db");
  CHECK(found[1].subject == "app");
  CHECK(m.subjects(Metric::MemoryPercent) == std::vector<std::string>{"app", "db"});
  CHECK(m.series(Metric::LatencyMs, "app") == nullptr);
}

TEST_CASE("thresholds read from plan text", "[monitor]") {
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

TEST_CASE("docker stats lines give memory and CPU percentages per container", "[monitor]") {
  std::string output =
      R"({"BlockIO":"0B / 0B","CPUPerc":"0.50%","Container":"3f2a","ID":"3f2a","MemPerc":"12.34%","MemUsage":"50MiB / 400MiB","Name":"agentsalud-api-1","NetIO":"1kB / 0B","PIDs":"12"})"
      "\n"
      R"({"CPUPerc":"--","Container":"9c1d","MemPerc":"--","Name":"agentsalud-worker-1"})"
      "\n\n"
      R"({"CPUPerc":"150.25%","MemPerc":"0.00%","Name":"agentsalud-db-1"})"
      "\nnot json\n";
  auto parsed = parse_docker_stats(output);
  REQUIRE(parsed.containers.size() == 2);
  CHECK(parsed.containers[0].name == "agentsalud-api-1");
  CHECK(parsed.containers[0].memory_percent == Approx(12.34));
  CHECK(parsed.containers[0].cpu_percent == Approx(0.5));
  CHECK(parsed.containers[1].cpu_percent == Approx(150.25));
  REQUIRE(parsed.problems.size() == 2);
  CHECK(parsed.problems[0].starts_with("line 2: docker stats: agentsalud-worker-1"));
  CHECK(parsed.problems[1].starts_with("line 5:"));
}

TEST_CASE("disk free space is a percentage and a missing path is an error", "[monitor]") {
  testing::TempDir dir;
  auto free = disk_free_percent(dir.path());
  REQUIRE(free);
  CHECK(*free >= 0);
  CHECK(*free <= 100);
  auto missing = disk_free_percent(dir / "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("nope: cannot read free space") != std::string::npos);
}

TEST_CASE("monitor thresholds are read from the plan with their allowances", "[monitor]") {
  auto node = YAML::Load(R"(
interval: 30s
thresholds:
  latency: "< 2s"
  error_rate: "< 1%"
  memory: {limit: "< 80%", for: 5m}
  disk_free: "> 20%"
)");
  auto read = read_thresholds("plan.yaml", node);
  REQUIRE(read);
  REQUIRE(read->size() == 4);
  CHECK((*read)[0].metric == Metric::LatencyMs);
  CHECK((*read)[0].limit == 2000);
  CHECK((*read)[2].metric == Metric::MemoryPercent);
  CHECK((*read)[2].allowance == Millis(300'000));
  CHECK((*read)[3].op == Op::Above);
  CHECK(read_thresholds("plan.yaml", YAML::Load("interval: 30s"))->empty());
}

TEST_CASE("bad monitor thresholds are all reported with file, line and column", "[monitor]") {
  auto node = YAML::Load("thresholds:\n  load: \"< 3\"\n  memory: 80%\n  cpu: {limit: \"< 70%\", for: soon}\n");
  auto read = read_thresholds("plan.yaml", node);
  REQUIRE_FALSE(read);
  const auto& message = read.error().message;
  CHECK(message.find("plan.yaml:2:3: monitor.thresholds.load: unknown metric") != std::string::npos);
  CHECK(message.find("plan.yaml:3:11: monitor.thresholds.memory: expected") != std::string::npos);
  CHECK(message.find("monitor.thresholds.cpu: for: expected a duration") != std::string::npos);
}

TEST_CASE("a watch summary lists every series and breach for the report", "[monitor]") {
  Monitor m;
  for (int i = 0; i < 4; ++i) {
    m.add(Metric::LatencyMs, "https://api/health", t0 + i * 1min, 100.0 * (i + 1));
    m.add(Metric::Error, "https://api/health", t0 + i * 1min, i == 3 ? 1 : 0);
    m.add(Metric::MemoryPercent, "app", t0 + i * 1min, i >= 2 ? 91.25 : 50);
  }
  std::vector<Threshold> limits{{Metric::MemoryPercent, Op::Below, 80, 0ms}};
  auto found = m.evaluate(limits);
  auto json = watch_summary_json(m, limits, found);
  REQUIRE(json["series"].size() == 3);
  CHECK(json["series"][0]["metric"] == "latency");
  CHECK(json["series"][0]["p95"] == 400.0);
  CHECK(json["series"][1]["error_rate"] == 25.0);
  CHECK(json["thresholds"][0] == "memory < 80%");
  REQUIRE(json["breaches"].size() == 1);
  CHECK(json["breaches"][0]["start"] == "2023-11-14T22:15:20Z");
  auto md = watch_summary_markdown(m, found);
  CHECK(md.find("| latency | https://api/health | 4 | 100ms | 200ms | 400ms | 400ms |") !=
        std::string::npos);
  CHECK(md.find("| error_rate | https://api/health | 4 | 25.0% |") != std::string::npos);
  CHECK(md.find("- memory `app`: 2023-11-14T22:15:20Z to 2023-11-14T22:16:20Z, worst 91.2%") !=
        std::string::npos);
  CHECK(watch_summary_markdown(Monitor{}, {}).ends_with("No threshold was breached.\n"));
}
