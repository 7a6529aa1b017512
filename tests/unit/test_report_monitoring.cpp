#include <catch2/catch.hpp>

#include <rollback/report/monitoring.hpp>

using namespace rollback;
using namespace rollback::engine;
using namespace std::chrono_literals;

namespace {

const SystemTime t0 = SystemTime{} + 1'700'000'000s;

}  // namespace

TEST_CASE("a watch summary lists every series and breach for the report", "[report][monitor]") {
  Monitor m;
  for (int i = 0; i < 4; ++i) {
    m.add(Metric::LatencyMs, "https://api/health", t0 + i * 1min, 100.0 * (i + 1));
    m.add(Metric::Error, "https://api/health", t0 + i * 1min, i == 3 ? 1 : 0);
    m.add(Metric::MemoryPercent, "app", t0 + i * 1min, i >= 2 ? 91.25 : 50);
  }
  std::vector<Threshold> limits{{Metric::MemoryPercent, Op::Below, 80, 0ms}};
  auto found = m.evaluate(limits);
  report::WatchSummary summary{.started = t0, .watched = 4min, .interval = 1min, .monitor = &m, .thresholds = limits, .breaches = found};
  auto json = report::render_monitoring_json(summary);
  REQUIRE(json["series"].size() == 3);
  CHECK(json["series"][0]["metric"] == "latency");
  CHECK(json["series"][0]["p95"] == 400.0);
  CHECK(json["series"][1]["error_rate"] == 25.0);
  CHECK(json["thresholds"][0] == "memory < 80%");
  REQUIRE(json["breaches"].size() == 1);
  CHECK(json["breaches"][0]["start"] == "2023-11-14T22:15:20Z");
  auto md = report::render_monitoring_markdown(summary, "en");
  CHECK(md.find("| latency | https://api/health | 4 | 100ms | 200ms | 400ms | 400ms |") !=
        std::string::npos);
  CHECK(md.find("| error_rate | https://api/health | 4 | 25.0% |") != std::string::npos);
  CHECK(md.find("- memory `app`: 2023-11-14T22:15:20Z to 2023-11-14T22:16:20Z, worst 91.2%") !=
        std::string::npos);
  CHECK(report::render_monitoring_markdown({}, "en").ends_with("No threshold was breached.\n"));
  auto es = report::render_monitoring_markdown(summary, "es");
  CHECK_THAT(es, Catch::StartsWith("## Monitoreo post-rollback") && Catch::Contains("1 umbral superado"));
}
