// Series, statistics and threshold breaches for `rollback watch` (see the header).
#include <rollback/engine/monitor_stats.hpp>

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rollback/engine/criteria_state.hpp>

namespace rollback::engine {
namespace {

constexpr std::pair<Metric, std::string_view> kNames[] = {
    {Metric::LatencyMs, "latency"},       {Metric::Error, "error_rate"},
    {Metric::MemoryPercent, "memory"},    {Metric::CpuPercent, "cpu"},
    {Metric::DiskFreePercent, "disk_free"},
};

bool beyond(const Threshold& t, double value) {
  return t.op == Op::Below ? !(value < t.limit) : !(value > t.limit);
}

bool worse(const Threshold& t, double a, double b) { return t.op == Op::Below ? a > b : a < b; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<double> number(std::string_view text) {
  std::string s(trim(text));
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> percent(std::string_view text) {
  text = trim(text);
  if (!text.ends_with('%')) return std::nullopt;
  return number(text.substr(0, text.size() - 1));
}

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

std::optional<Threshold> parse_threshold(Metric metric, std::string_view text, Millis allowance) {
  text = trim(text);
  if (text.empty() || (text.front() != '<' && text.front() != '>')) return std::nullopt;
  Threshold t{metric, text.front() == '<' ? Op::Below : Op::Above, 0, allowance};
  auto rest = trim(text.substr(1));
  if (metric == Metric::LatencyMs) {
    if (auto d = parse_duration(rest)) {
      t.limit = static_cast<double>(d->count());
      return t;
    }
    auto v = number(rest);
    if (!v) return std::nullopt;
    t.limit = *v;
    return t;
  }
  auto v = rest.ends_with('%') ? percent(rest) : number(rest);
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

Result<std::vector<Threshold>> read_thresholds(const std::string& file, const YAML::Node& monitor) {
  std::vector<Threshold> out;
  std::vector<std::string> problems;
  auto problem = [&](const YAML::Node& at, const std::string& key, const std::string& what) {
    auto mark = at.Mark();
    problems.push_back(fmt::format("{}:{}:{}: monitor.thresholds{}{}: {}", file, mark.line + 1,
                                   mark.column + 1, key.empty() ? "" : ".", key, what));
  };
  if (!monitor.IsDefined() || !monitor.IsMap() || !monitor["thresholds"]) return out;
  const YAML::Node thresholds = monitor["thresholds"];
  if (!thresholds.IsMap()) {
    problem(thresholds, "", "expected a map of metric: \"< limit\"");
    return fail(problems.front());
  }
  for (const auto& entry : thresholds) {
    auto key = entry.first.as<std::string>("");
    auto metric = parse_metric(key);
    if (!metric) {
      problem(entry.first, key, "unknown metric (expected latency, error_rate, memory, cpu or disk_free)");
      continue;
    }
    const YAML::Node value = entry.second;
    // yaml-cpp's Node::operator= writes into the node it refers to: rebind with reset().
    YAML::Node limit, allowance_node;
    limit.reset(value.IsMap() ? value["limit"] : value);
    if (value.IsMap()) allowance_node.reset(value["for"]);
    Millis allowance{0};
    if (allowance_node && allowance_node.IsScalar()) {
      auto d = parse_duration(allowance_node.Scalar());
      if (!d) problem(allowance_node, key, "for: expected a duration such as 5m, saw \"" + allowance_node.Scalar() + "\"");
      else allowance = *d;
    }
    auto parsed = limit && limit.IsScalar() ? parse_threshold(*metric, limit.Scalar(), allowance)
                                            : std::nullopt;
    if (!parsed) {
      problem(limit ? limit : value, key,
              fmt::format("expected \"< LIMIT\" or \"> LIMIT\" ({}), or a map with limit and for",
                          *metric == Metric::LatencyMs ? "such as \"< 2s\"" : "such as \"< 80%\""));
      continue;
    }
    out.push_back(*parsed);
  }
  if (!problems.empty()) return fail(fmt::format("{}", fmt::join(problems, "\n")));
  return out;
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
  std::optional<Breach> open;
  auto close = [&] {
    if (open && open->end - open->start >= threshold.allowance) out.push_back(*open);
    open.reset();
  };
  for (const auto& s : samples) {
    if (!beyond(threshold, s.value)) {
      close();
      continue;
    }
    if (!open) {
      open = Breach{threshold.metric, subject, s.at, s.at, s.value};
    } else {
      open->end = s.at;
      if (worse(threshold, s.value, open->worst)) open->worst = s.value;
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

namespace {

std::string with_unit(Metric metric, double value) {
  return metric == Metric::LatencyMs ? fmt::format("{:.0f}ms", value) : fmt::format("{:.1f}%", value);
}

}  // namespace

nlohmann::json watch_summary_json(const Monitor& monitor, const std::vector<Threshold>& thresholds,
                                  const std::vector<Breach>& found) {
  nlohmann::json series = nlohmann::json::array(), limits = nlohmann::json::array(),
                 breach_list = nlohmann::json::array();
  for (const auto& [key, s] : monitor.all()) {
    nlohmann::json item = {{"metric", metric_name(key.first)}, {"subject", key.second},
                           {"count", s.size()}, {"dropped", s.dropped()}};
    if (key.first == Metric::Error) {
      item["error_rate"] = error_rate_percent(s);
    } else if (auto st = stats(s)) {
      item.update({{"min", st->min}, {"median", st->median}, {"p95", st->p95}, {"max", st->max}});
    }
    series.push_back(std::move(item));
  }
  for (const auto& t : thresholds) limits.push_back(describe(t));
  for (const auto& b : found)
    breach_list.push_back({{"metric", metric_name(b.metric)}, {"subject", b.subject},
                           {"start", format_utc(b.start)}, {"end", format_utc(b.end)},
                           {"worst", b.worst}});
  return {{"series", series}, {"thresholds", limits}, {"breaches", breach_list}};
}

std::string watch_summary_markdown(const Monitor& monitor, const std::vector<Breach>& found) {
  std::string out = "| metric | subject | samples | min | median | p95 | max |\n"
                    "|---|---|---|---|---|---|---|\n";
  for (const auto& [key, s] : monitor.all()) {
    auto m = key.first;
    if (m == Metric::Error) {
      out += fmt::format("| {} | {} | {} | {} | | | |\n", metric_name(m), key.second, s.size(),
                         with_unit(m, error_rate_percent(s)));
    } else if (auto st = stats(s)) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", metric_name(m), key.second,
                         st->count, with_unit(m, st->min), with_unit(m, st->median),
                         with_unit(m, st->p95), with_unit(m, st->max));
    }
  }
  out += "\n";
  if (found.empty()) return out + "No threshold was breached.\n";
  for (const auto& b : found)
    out += fmt::format("- {} `{}`: {} to {}, worst {}\n", metric_name(b.metric), b.subject,
                       format_utc(b.start), format_utc(b.end), with_unit(b.metric, b.worst));
  return out;
}

Result<ContainerStats> parse_docker_stats_line(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(fmt::format("docker stats: expected a JSON object, saw \"{}\"",
                            std::string(line.substr(0, 80))));
  auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ContainerStats out;
  out.name = text("Name");
  if (out.name.empty()) out.name = text("Container");
  if (out.name.empty()) return fail("docker stats: a line without Name or Container");
  auto mem = percent(text("MemPerc")), cpu = percent(text("CPUPerc"));
  if (!mem || !cpu)
    return fail(fmt::format("docker stats: {}: expected MemPerc and CPUPerc like \"12.34%\", "
                            "saw \"{}\" and \"{}\"",
                            out.name, text("MemPerc"), text("CPUPerc")));
  out.memory_percent = *mem;
  out.cpu_percent = *cpu;
  return out;
}

DockerStats parse_docker_stats(std::string_view output) {
  DockerStats out;
  size_t line_no = 0;
  while (!output.empty()) {
    auto eol = output.find('\n');
    auto line = trim(output.substr(0, eol));
    output.remove_prefix(eol == std::string_view::npos ? output.size() : eol + 1);
    ++line_no;
    if (line.empty()) continue;
    auto parsed = parse_docker_stats_line(line);
    if (parsed) out.containers.push_back(std::move(*parsed));
    else out.problems.push_back(fmt::format("line {}: {}", line_no, parsed.error().message));
  }
  return out;
}

Result<double> disk_free_percent(const std::filesystem::path& path) {
  struct statvfs st{};
  if (::statvfs(path.c_str(), &st) != 0)
    return fail(fmt::format("{}: cannot read free space: {}", path.string(), std::strerror(errno)));
  double used = static_cast<double>(st.f_blocks - st.f_bfree);
  double avail = static_cast<double>(st.f_bavail);
  if (used + avail <= 0) return fail(fmt::format("{}: filesystem reports no size", path.string()));
  return 100.0 * avail / (used + avail);
}

}  // namespace rollback::engine
