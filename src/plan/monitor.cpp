// Metric names and thresholds of the `monitor:` section (include/rollback/plan/monitor.hpp).
#include <rollback/plan/monitor.hpp>

#include <fmt/format.h>

#include <rollback/util/text.hpp>

namespace rollback::plan {
namespace {

constexpr std::pair<Metric, std::string_view> kNames[] = {
    {Metric::LatencyMs, "latency"},       {Metric::Error, "error_rate"},
    {Metric::MemoryPercent, "memory"},    {Metric::CpuPercent, "cpu"},
    {Metric::DiskFreePercent, "disk_free"},
};

}  // namespace

std::string_view metric_name(Metric metric) {
  for (const auto& [m, name] : kNames)
    if (m == metric) return name;
  return "?";
}

std::optional<Metric> parse_metric(std::string_view name) {
  for (const auto& [m, n] : kNames)
    if (n == name) return m;
  return std::nullopt;
}

std::vector<std::string> metric_names() {
  std::vector<std::string> out;
  for (const auto& [m, name] : kNames) out.emplace_back(name);
  return out;
}

std::optional<Threshold> parse_threshold(Metric metric, std::string_view raw, Millis allowance) {
  std::string text = trim(raw);
  if (text.empty() || (text.front() != '<' && text.front() != '>')) return std::nullopt;
  Threshold t{metric, text.front() == '<' ? Op::Below : Op::Above, 0, allowance};
  auto rest = trim(std::string_view(text).substr(1));
  if (metric == Metric::LatencyMs) {
    if (auto d = parse_duration(rest)) {
      t.limit = static_cast<double>(d->count());
      return t;
    }
    auto v = parse_number(rest);
    if (!v) return std::nullopt;
    t.limit = *v;
    return t;
  }
  auto v = rest.ends_with('%') ? parse_percent(rest) : parse_number(rest);
  if (!v) return std::nullopt;
  t.limit = *v;
  return t;
}

std::string describe(const Threshold& t) {
  std::string limit = t.metric == Metric::LatencyMs ? fmt::format("{}ms", t.limit)
                                                    : fmt::format("{}%", t.limit);
  std::string text = fmt::format("{} {} {}", metric_name(t.metric), t.op == Op::Below ? "<" : ">",
                                 limit);
  if (t.allowance.count() > 0) text += " (tolerated for " + format_duration(t.allowance) + ")";
  return text;
}

}  // namespace rollback::plan
