// Statistics for `rollback watch`: a bounded series of samples per (metric, subject),
// min / median / p95 / max, error rate, and thresholds with an allowance ("latency < 2s,
// tolerated for 3m"). Plus the two local sources watch reads besides probes: `docker stats`
// lines and free disk space.
//
// Times are parameters, never read here, so tests feed fake clocks.
//
// Memory is bounded: a series keeps at most `capacity` samples (kMaxSamples = 100'000 by
// default, about 1.6 MB) and drops the oldest beyond that, counting them in dropped(). A
// 2-hour watch probing every second needs 7'200 per series, so the bound only matters for
// `watch --for` runs of days at a fast interval; the statistics then describe the newest
// samples (and say so through dropped()).
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <rollback/util/duration.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

using SystemTime = std::chrono::system_clock::time_point;

enum class Metric {
  LatencyMs,        // probe latency in milliseconds
  Error,            // 1 = the probe failed, 0 = it passed; thresholds apply to the rate in %
  MemoryPercent,    // container memory use, % of its limit (docker stats MemPerc)
  CpuPercent,       // container CPU use, % (docker stats CPUPerc; may exceed 100 on SMP)
  DiskFreePercent,  // free space of a filesystem, %
};

// "latency", "error_rate", "memory", "cpu", "disk_free": the words used in plans and reports.
std::string_view metric_name(Metric metric);
std::optional<Metric> parse_metric(std::string_view name);

struct Sample {
  SystemTime at;
  double value = 0;
};

inline constexpr size_t kMaxSamples = 100'000;

// Samples in the order added (callers add in time order).
class Series {
 public:
  explicit Series(size_t capacity = kMaxSamples) : capacity_(capacity ? capacity : 1) {}
  void add(SystemTime at, double value);
  const std::deque<Sample>& samples() const { return samples_; }
  size_t size() const { return samples_.size(); }
  size_t dropped() const { return dropped_; }  // oldest samples discarded for the bound

 private:
  std::deque<Sample> samples_;
  size_t capacity_;
  size_t dropped_ = 0;
};

struct Stats {
  size_t count = 0;
  double min = 0, median = 0, p95 = 0, max = 0;
};

// nullopt for an empty series. Median and p95 are nearest-rank percentiles: always an
// observed value, the ceil(p/100 * n)-th smallest.
std::optional<Stats> stats(const Series& series);
double nearest_rank(std::vector<double> values, double percentile);  // values non-empty

// Percent of samples that are non-zero (failed probes); 0 for an empty series.
double error_rate_percent(const Series& series);

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

// The `thresholds` map of a plan's `monitor` section, keyed by metric name:
//   thresholds:
//     latency: "< 2s"                        # tolerated for 0: any slow sample counts
//     error_rate: "< 1%"
//     memory: {limit: "< 80%", for: 5m}      # `for:` = the allowance
//     cpu: {limit: "< 70%", for: 5m}
//     disk_free: "> 20%"
// Every problem is reported at once, each as "FILE:LINE:COL: monitor.thresholds.KEY: ...".
// An absent `thresholds` key is an empty list.
Result<std::vector<Threshold>> read_thresholds(const std::string& file, const YAML::Node& monitor);

struct Breach {
  Metric metric = Metric::LatencyMs;
  std::string subject;  // container, path or URL the series is about
  SystemTime start, end;  // first and last sample beyond the limit
  double worst = 0;       // the worst value seen in the period (the rate for Error)
};

// Every period in which consecutive samples were all beyond the limit and which lasted at
// least the allowance (last bad sample - first bad sample >= allowance; an allowance of 0
// counts a single bad sample). For Metric::Error the limit applies to the error rate of
// the whole series: one breach spanning the series when the rate is beyond it.
std::vector<Breach> breaches(const Series& series, const Threshold& threshold,
                             const std::string& subject = {});

// Every series of a watch, keyed by metric and subject.
class Monitor {
 public:
  explicit Monitor(size_t capacity = kMaxSamples) : capacity_(capacity) {}
  void add(Metric metric, const std::string& subject, SystemTime at, double value);
  const Series* series(Metric metric, const std::string& subject) const;
  std::vector<std::string> subjects(Metric metric) const;
  const std::map<std::pair<Metric, std::string>, Series>& all() const { return series_; }
  // Breaches of every threshold over every subject of its metric, oldest first.
  std::vector<Breach> evaluate(const std::vector<Threshold>& thresholds) const;

 private:
  std::map<std::pair<Metric, std::string>, Series> series_;
  size_t capacity_;
};

// For report.json's monitoring section: {"series": [{metric, subject, count, dropped, min,
// median, p95, max, error_rate?}], "thresholds": ["latency < 2000ms", ...], "breaches":
// [{metric, subject, start, end, worst}]} (times UTC ISO-8601).
nlohmann::json watch_summary_json(const Monitor& monitor, const std::vector<Threshold>& thresholds,
                                  const std::vector<Breach>& found);

// The same as Markdown for the report: a table of the series, then one line per breach
// ("No threshold was breached." when none).
std::string watch_summary_markdown(const Monitor& monitor, const std::vector<Breach>& found);

// One line of `docker stats --no-stream --format '{{json .}}'`.
struct ContainerStats {
  std::string name;
  double memory_percent = 0;
  double cpu_percent = 0;
};

Result<ContainerStats> parse_docker_stats_line(std::string_view line);

struct DockerStats {
  std::vector<ContainerStats> containers;
  std::vector<std::string> problems;  // "line 3: ...": one per line that could not be read
};

// Every non-empty line of the command's output; a bad line is a problem, not a failure,
// so one container in a restart loop ("--") does not blind the watch to the others.
DockerStats parse_docker_stats(std::string_view output);

// Free space of the filesystem holding `path`, in percent, as df sees it: available to
// unprivileged users / (used + available), i.e. 100 - df's Use%.
Result<double> disk_free_percent(const std::filesystem::path& path);

}  // namespace rollback::engine
