#include <catch2/catch.hpp>

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

