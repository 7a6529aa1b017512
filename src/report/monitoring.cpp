// The monitoring section of a report (include/rollback/report/monitoring.hpp).
#include <rollback/report/monitoring.hpp>

#include <fmt/format.h>

#include <rollback/util/time.hpp>

namespace rollback::report {
namespace {

using engine::Breach;
using plan::Metric;

struct MonitoringStrings {
  std::string_view heading, watched, table_head, no_breach, breaches_one, breaches_many, breach_line;
};

const MonitoringStrings kEnglish{
    .heading = "Post-rollback monitoring",
    .watched = "Watched from {} for {}, every {}.",
    .table_head = "| metric | subject | samples | min | median | p95 | max |",
    .no_breach = "No threshold was breached.",
    .breaches_one = "**1 threshold breach** (beyond the limit for longer than allowed):",
    .breaches_many = "**{} threshold breaches** (beyond the limit for longer than allowed):",
    .breach_line = "- {} `{}`: {} to {}, worst {}",
};

const MonitoringStrings kSpanish{
    .heading = "Monitoreo post-rollback",
    .watched = "Vigilado desde {} durante {}, cada {}.",
    .table_head = "| métrica | sujeto | muestras | mín | mediana | p95 | máx |",
    .no_breach = "Ningún umbral fue superado.",
    .breaches_one = "**1 umbral superado** (fuera del límite más tiempo del tolerado):",
    .breaches_many = "**{} umbrales superados** (fuera del límite más tiempo del tolerado):",
    .breach_line = "- {} `{}`: de {} a {}, peor valor {}",
};

std::string with_unit(Metric metric, double value) {
  return metric == Metric::LatencyMs ? fmt::format("{:.0f}ms", value) : fmt::format("{:.1f}%", value);
}

std::string series_table(const MonitoringStrings& s, const engine::Monitor& monitor) {
  std::string out = fmt::format("{}\n|---|---|---|---|---|---|---|\n", s.table_head);
  for (const auto& [key, series] : monitor.all()) {
    auto m = key.first;
    if (m == Metric::Error) {
      out += fmt::format("| {} | {} | {} | {} | | | |\n", plan::metric_name(m), key.second, series.size(),
                         with_unit(m, engine::error_rate_percent(series)));
    } else if (auto st = engine::stats(series)) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", plan::metric_name(m), key.second,
                         st->count, with_unit(m, st->min), with_unit(m, st->median), with_unit(m, st->p95),
                         with_unit(m, st->max));
    }
  }
  return out;
}

}  // namespace

std::string render_monitoring_markdown(const WatchSummary& summary, std::string_view lang) {
  const MonitoringStrings& s = lang == "es" ? kSpanish : kEnglish;
  std::string out = fmt::format("## {}\n\n", s.heading);
  out += fmt::format(fmt::runtime(s.watched), format_iso_utc(summary.started), format_duration(summary.watched),
                     format_duration(summary.interval));
  out += "\n\n";
  if (summary.monitor) out += series_table(s, *summary.monitor);
  out += "\n";
  const auto& found = summary.breaches;
  if (found.empty()) return out + std::string(s.no_breach) + "\n";
  out += found.size() == 1 ? std::string(s.breaches_one) : fmt::format(fmt::runtime(s.breaches_many), found.size());
  out += "\n\n";
  for (const Breach& b : found)
    out += fmt::format(fmt::runtime(s.breach_line), plan::metric_name(b.metric), b.subject,
                       format_utc(b.start, kIsoSecondsUtc), format_utc(b.end, kIsoSecondsUtc),
                       with_unit(b.metric, b.worst)) +
           "\n";
  return out;
}

nlohmann::json render_monitoring_json(const WatchSummary& summary) {
  using nlohmann::json;
  json series = json::array(), limits = json::array(), breach_list = json::array();
  if (summary.monitor)
    for (const auto& [key, s] : summary.monitor->all()) {
      json item = {{"metric", plan::metric_name(key.first)}, {"subject", key.second},
                   {"count", s.size()}, {"dropped", s.dropped()}};
      if (key.first == Metric::Error) {
        item["error_rate"] = engine::error_rate_percent(s);
      } else if (auto st = engine::stats(s)) {
        item.update({{"min", st->min}, {"median", st->median}, {"p95", st->p95}, {"max", st->max}});
      }
      series.push_back(std::move(item));
    }
  for (const auto& t : summary.thresholds) limits.push_back(plan::describe(t));
  for (const auto& b : summary.breaches)
    breach_list.push_back({{"metric", plan::metric_name(b.metric)}, {"subject", b.subject},
                           {"start", format_utc(b.start, kIsoSecondsUtc)},
                           {"end", format_utc(b.end, kIsoSecondsUtc)}, {"worst", b.worst}});
  return {{"started", format_iso_utc(summary.started)}, {"watched_ms", summary.watched.count()},
          {"interval_ms", summary.interval.count()}, {"series", series}, {"thresholds", limits},
          {"breaches", breach_list}};
}

}  // namespace rollback::report
