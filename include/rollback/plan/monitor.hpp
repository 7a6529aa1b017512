// The `monitor:` section of a plan, read at load time into a typed model: what `watch`
// probes every interval (each probe an ordinary read-only action) and the thresholds its
// samples are held to.
//
//   monitor:
//     interval: 30s
//     duration: 2h
//     http: {url: "${health_url}"}            # http.probe's parameters
//     containers: {filter: "${container_filter}"}  # docker.stats' parameters
//     disk: ["${backups}"]                    # one fs.disk_free per path
//     thresholds:
//       latency: {limit: "< 2s", for: 3m}     # `for:` = how long a breach is tolerated
//       error_rate: "< 1%"
//       memory: {limit: "< 80%", for: 5m}
//       cpu: {limit: "< 70%", for: 5m}
//       disk_free: "> 20%"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <rollback/plan/location.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::plan {

enum class Metric {
  LatencyMs,        // probe latency in milliseconds
  Error,            // 1 = the probe failed, 0 = it passed; thresholds apply to the rate in %
  MemoryPercent,    // container memory use, % of its limit
  CpuPercent,       // container CPU use, % (may exceed 100 on SMP)
  DiskFreePercent,  // free space of a filesystem, %
};

// "latency", "error_rate", "memory", "cpu", "disk_free": the words used in plans and reports.
std::string_view metric_name(Metric metric);
std::optional<Metric> parse_metric(std::string_view name);
std::vector<std::string> metric_names();

// The healthy side: Below = the value must stay < limit, Above = must stay > limit.
enum class Op { Below, Above };

struct Threshold {
  Metric metric = Metric::LatencyMs;
  Op op = Op::Below;
  double limit = 0;       // ms for latency, % for everything else
  Millis allowance{0};    // how long a breach is tolerated before it counts
};

// "< 2s" / "<2000ms" / "< 2000" for latency (ms), "< 1%" / "> 20" for percentages.
// nullopt when the text is not "<" or ">" followed by a number (with a unit allowed for
// the metric).
std::optional<Threshold> parse_threshold(Metric metric, std::string_view text, Millis allowance);

std::string describe(const Threshold& threshold);  // "latency < 2000ms (tolerated for 3m00s)"

// One read-only action to run: a criterion's probe, or one of `monitor`'s samplers.
struct ProbeSpec {
  std::string action;
  YAML::Node with;
  Location where;
};

struct MonitorSpec {
  bool present = false;             // the plan has a `monitor:` section
  std::optional<Millis> interval;
  std::optional<Millis> duration;
  std::vector<ProbeSpec> probes;    // in the order: http, containers, disk paths
  std::vector<Threshold> thresholds;
  Location where;
};

}  // namespace rollback::plan
