// Series, statistics and threshold breaches for `rollback watch` (see the header).
#include <rollback/engine/monitor_stats.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace rollback::engine {
namespace {

bool beyond(const Threshold& t, double value) {
  return t.op == Op::Below ? !(value < t.limit) : !(value > t.limit);
}

bool worse(const Threshold& t, double a, double b) { return t.op == Op::Below ? a > b : a < b; }

}  // namespace

void Series::add(SystemTime at, double value) {
  if (samples_.size() == capacity_) {
    samples_.pop_front();
    ++dropped_;
  }
  samples_.push_back({at, value});
}

double nearest_rank(std::vector<double> values, double percentile) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(percentile / 100.0 * values.size()));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

std::optional<Stats> stats(const Series& series) {
  if (series.size() == 0) return std::nullopt;
  std::vector<double> values;
  values.reserve(series.size());
  for (const auto& s : series.samples()) values.push_back(s.value);
  std::sort(values.begin(), values.end());
  return Stats{values.size(), values.front(), nearest_rank(values, 50), nearest_rank(values, 95),
               values.back()};
}

double error_rate_percent(const Series& series) {
  if (series.size() == 0) return 0;
  auto errors = std::count_if(series.samples().begin(), series.samples().end(),
                              [](const Sample& s) { return s.value != 0; });
  return 100.0 * static_cast<double>(errors) / static_cast<double>(series.size());
}

std::vector<Breach> breaches(const Series& series, const Threshold& threshold,
                             const std::string& subject) {
  std::vector<Breach> out;
  const auto& samples = series.samples();
  if (samples.empty()) return out;
  if (threshold.metric == Metric::Error) {
    double rate = error_rate_percent(series);
    if (beyond(threshold, rate))
      out.push_back({threshold.metric, subject, samples.front().at, samples.back().at, rate});
    return out;
  }
  // The breach being followed, if `in_breach` (a plain flag: GCC 12 warns falsely about
  // an optional<Breach> here).
  Breach open{threshold.metric, subject, {}, {}, 0};
  bool in_breach = false;
  auto close = [&] {
    if (in_breach && open.end - open.start >= threshold.allowance) out.push_back(open);
    in_breach = false;
  };
  for (const auto& s : samples) {
    if (!beyond(threshold, s.value)) {
      close();
      continue;
    }
    if (!in_breach) {
      open.start = open.end = s.at;
      open.worst = s.value;
      in_breach = true;
    } else {
      open.end = s.at;
      if (worse(threshold, s.value, open.worst)) open.worst = s.value;
    }
  }
  close();
  return out;
}

void Monitor::add(Metric metric, const std::string& subject, SystemTime at, double value) {
  auto it = series_.try_emplace({metric, subject}, capacity_).first;
  it->second.add(at, value);
}

const Series* Monitor::series(Metric metric, const std::string& subject) const {
  auto it = series_.find({metric, subject});
  return it == series_.end() ? nullptr : &it->second;
}

std::vector<std::string> Monitor::subjects(Metric metric) const {
  std::vector<std::string> out;
  for (const auto& [key, s] : series_)
    if (key.first == metric) out.push_back(key.second);
  return out;
}

std::vector<Breach> Monitor::evaluate(const std::vector<Threshold>& thresholds) const {
  std::vector<Breach> out;
  for (const auto& t : thresholds)
    for (const auto& [key, s] : series_)
      if (key.first == t.metric)
        for (auto& b : breaches(s, t, key.second)) out.push_back(std::move(b));
  std::stable_sort(out.begin(), out.end(),
                   [](const Breach& a, const Breach& b) { return a.start < b.start; });
  return out;
}

}  // namespace rollback::engine
