// The "post-rollback monitoring" section that `rollback watch` adds to a run's report:
// every series with min / median / p95 / max, the thresholds, and each breach with its
// times. Markdown in the report's language (en | es), and its JSON twin.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/engine/monitor_stats.hpp>
#include <rollback/util/time.hpp>

namespace rollback::report {

struct WatchSummary {
  SystemTime started{};
  Millis watched{0};
  Millis interval{0};
  const engine::Monitor* monitor = nullptr;
  std::vector<plan::Threshold> thresholds;
  std::vector<engine::Breach> breaches;
};

// "## Post-rollback monitoring" (or "## Monitoreo post-rollback"), what was watched and
// for how long, a table of the series, then one line per breach.
std::string render_monitoring_markdown(const WatchSummary& summary, std::string_view lang);

// {"started", "watched_ms", "interval_ms", "series": [{metric, subject, count, dropped, min,
// median, p95, max, error_rate?}], "thresholds": ["latency < 2000ms", ...], "breaches":
// [{metric, subject, start, end, worst}]} (times UTC ISO-8601).
nlohmann::json render_monitoring_json(const WatchSummary& summary);

}  // namespace rollback::report
