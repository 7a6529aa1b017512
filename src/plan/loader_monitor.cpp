// monitor: the samplers `watch` runs every interval and the thresholds it holds them to,
// read into plan::MonitorSpec so that `validate` catches a misspelt threshold or parameter
// and an undefined ${var} before anyone starts watching.
#include <fmt/format.h>

#include <rollback/util/text.hpp>

#include "loader_internal.hpp"

namespace rollback::plan::detail {
namespace {

const std::vector<std::string> kMonitorKeys = {"interval", "duration", "http",
                                               "containers", "disk", "thresholds"};

// A sampler given as the parameters of a read-only action: `http` -> http.probe,
// `containers` -> docker.stats.
void read_sampler(Loader& l, const MapView& map, const char* key, const char* action_name) {
  YAML::Node with = map.get(key);
  if (!with.IsDefined() || with.IsNull()) return;
  std::string label = fmt::format("monitor.{}", key);
  const ActionSchema* action = l.catalog.schema(action_name);
  if (!with.IsMap()) {
    l.r.error(with, fmt::format("{}: expected the parameters of {} (a map), got {}", label,
                                action_name, describe(with)));
    return;
  }
  if (!action) {
    l.r.error(with, fmt::format("{}: needs the action {}, which this rollback does not have", label,
                                action_name));
    return;
  }
  check_params(l, with, *action, "monitor", key, l.r.where(with), RefPlace::Criterion);
  l.plan.monitor.probes.push_back({action_name, with, l.r.where(with)});
}

// `disk: [path, ...]`: one fs.disk_free per path.
void read_disk(Loader& l, const MapView& map) {
  YAML::Node disk = map.get("disk");
  if (!disk.IsDefined() || disk.IsNull()) return;
  auto paths = get_text_list(l.r, map, "disk", "monitor");
  if (!paths) return;
  if (!l.catalog.schema("fs.disk_free")) {
    l.r.error(disk, "monitor.disk: needs the action fs.disk_free, which this rollback does not have");
    return;
  }
  for (size_t i = 0; i < paths->size(); ++i) {
    YAML::Node item = disk.IsSequence() ? disk[i] : disk;
    if (trim((*paths)[i]).empty()) {
      l.r.error(item, fmt::format("monitor.disk[{}]: a path must not be empty", i));
      continue;
    }
    check_refs(l, item, fmt::format("monitor.disk[{}]", i), RefPlace::Criterion);
    YAML::Node with(YAML::NodeType::Map);
    with["path"] = item;  // a fresh map entry: binds to the item, positions included
    l.plan.monitor.probes.push_back({"fs.disk_free", with, l.r.where(item)});
  }
}

void read_threshold(Loader& l, const Entry& entry) {
  auto metric = parse_metric(entry.key);
  if (!metric) return;  // MapView reported it, with a did-you-mean
  std::string label = "monitor.thresholds." + entry.key;
  const YAML::Node& value = entry.value;
  Millis allowance{0};
  YAML::Node limit = value;
  if (value.IsMap()) {
    MapView map(l.r, value, {"limit", "for"}, label);
    if (auto d = get_duration(l.r, map, "for", "", label + ".for")) allowance = *d;
    limit.reset(map.get("limit"));  // reset, not =: a Node's = writes into the node it refers to
    if (!map.has_value("limit")) {
      l.r.error(value, fmt::format("{}: missing required key 'limit'", label));
      return;
    }
  }
  auto parsed = limit.IsScalar() ? parse_threshold(*metric, limit.Scalar(), allowance) : std::nullopt;
  if (!parsed) {
    l.r.error(limit, fmt::format("{}: expected \"< LIMIT\" or \"> LIMIT\" ({}), or a map with limit and for; got {}",
                                 label, *metric == Metric::LatencyMs ? "such as \"< 2s\"" : "such as \"< 80%\"",
                                 describe(limit)));
    return;
  }
  l.plan.monitor.thresholds.push_back(*parsed);
}

void read_thresholds(Loader& l, const MapView& map) {
  YAML::Node node = map.get("thresholds");
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("monitor.thresholds: expected a map of metric: \"< limit\", got {}",
                                describe(node)));
    return;
  }
  MapView thresholds(l.r, node, metric_names(), "monitor.thresholds");
  for (const auto& entry : thresholds.entries()) read_threshold(l, entry);
}

}  // namespace

void read_monitor(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("monitor: expected a map, got {}", describe(node)));
    return;
  }
  auto& monitor = l.plan.monitor;
  monitor.present = true;
  monitor.where = l.r.where(node);
  MapView map(l.r, node, kMonitorKeys, "monitor");
  monitor.interval = get_duration(l.r, map, "interval", "", "monitor.interval");
  monitor.duration = get_duration(l.r, map, "duration", "", "monitor.duration");
  if (monitor.interval && monitor.interval->count() <= 0)
    l.r.error(map.get("interval"), "monitor.interval: must be longer than 0");
  read_sampler(l, map, "http", "http.probe");
  read_sampler(l, map, "containers", "docker.stats");
  read_disk(l, map);
  read_thresholds(l, map);
}

}  // namespace rollback::plan::detail
