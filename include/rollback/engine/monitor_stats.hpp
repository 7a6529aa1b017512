// Statistics for `rollback watch`: a bounded series of samples per (metric, subject),
// min / median / p95 / max, error rate, and breaches of the plan's thresholds (with their
// allowance: "latency < 2s, tolerated for 3m"). What is sampled, and how, is the actions'
// business (Outcome::measurements); this only aggregates.
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
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>


#include <rollback/plan/monitor.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::engine {

using SystemTime = std::chrono::system_clock::time_point;

using plan::Metric;
using plan::Op;
using plan::Threshold;

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

}  // namespace rollback::engine
