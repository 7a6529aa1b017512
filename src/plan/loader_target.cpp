// The target section (how rollback targets are found) and criteria (when to roll back).
#include <fmt/format.h>
#include <algorithm>

#include "loader_internal.hpp"

namespace rollback::plan::detail {

const std::vector<std::string> kTargetKeys = {"from", "dir", "glob", "default", "require", "keep", "makes", "with"};
const std::vector<std::string> kTargetDefaults = {"latest", "previous", "none"};

namespace {


void read_require(Loader& l, const MapView& map, TargetSpec& spec) {
  auto require = get_text_list(l.r, map, "require", "target");
  if (!require) return;
  YAML::Node node = map.get("require");
  const bool in_dir = spec.from == "dir";
  for (size_t i = 0; i < require->size(); ++i) {
    const std::string& path = (*require)[i];
    YAML::Node item = node.IsSequence() ? node[i] : node;
    // Dir targets: paths inside the target, an absolute or escaping one would check something
    // else. Other targets have no folder: each entry is a host path (a glob) that must match,
    // such as the dump recorded for the target's commit.
    if (in_dir && (path.empty() || path.starts_with("/") || path == ".." || path.starts_with("../") ||
                   path.find("/../") != std::string::npos))
      l.r.error(item, fmt::format("target.require[{}]: '{}' must be a path inside the target "
                                  "(relative, without '..')",
                                  i, path));
    if (!in_dir && (path.empty() || (!path.starts_with("/") && !path.starts_with("${"))))
      l.r.error(item, fmt::format("target.require[{}]: '{}' must be an absolute path or glob (a from: {} target "
                                  "has no folder to be relative to)",
                                  i, path, spec.from));
    check_refs(l, item, fmt::format("target.require[{}]", i), RefPlace::Require);
  }
  spec.require = *require;
}

// `vars:` of a criterion: literal text values. Which plan declares each name (this one or its
// fallback) is checked where both are known: `validate` and `check` (cli).
void read_criterion_vars(Loader& l, const YAML::Node& node, const std::string& context, Criterion& criterion) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("{}: vars: expected a map of var names to values, got {}", context, describe(node)));
    return;
  }
  for (const auto& kv : node) {
    std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!is_name(name)) {
      l.r.error(kv.first, fmt::format("{}: vars: {} is not a valid var name", context, describe(kv.first)));
    } else if (!kv.second.IsScalar() || kv.second.Scalar().find("${") != std::string::npos) {
      l.r.error(kv.second, fmt::format("{}: vars.{}: expected literal text (what the criterion holding means for "
                                       "the run), got {}",
                                       context, name, describe(kv.second)));
    } else {
      criterion.vars.emplace_back(name, kv.second.Scalar());
    }
  }
}

void read_criterion(Loader& l, const YAML::Node& node, bool critical, size_t index,
                    std::map<std::string, int>& name_lines) {
  std::string list = critical ? "critical" : "warning";
  YAML::Node raw_name = node["name"];
  std::string context = raw_name.IsDefined() && raw_name.IsScalar()
                            ? fmt::format("criterion '{}'", raw_name.Scalar())
                            : fmt::format("criteria.{}[{}]", list, index);
  MapView map(l.r, node, {"name", "probe", "for", "vars"}, context);
  Criterion criterion;
  criterion.critical = critical;
  criterion.where = l.r.where(node);
  if (auto name = get_text(l.r, map, "name", context)) {
    criterion.name = *name;
    // `for:` state is kept per name across cron runs: two criteria must not share one.
    if (auto it = name_lines.find(*name); it != name_lines.end())
      l.r.error(map.get("name"),
                fmt::format("duplicate criterion name '{}' (first at line {})", *name, it->second));
    else
      name_lines[*name] = l.r.where(map.get("name")).line;
  } else if (!map.has_value("name")) {
    l.r.error(node, fmt::format("{}: missing required key 'name'", context));
  }
  criterion.hold_for = get_duration(l.r, map, "for", context);
  read_criterion_vars(l, map.get("vars"), context, criterion);
  YAML::Node probe = map.get("probe");
  if (!probe.IsDefined() || probe.IsNull()) {
    l.r.error(node, fmt::format("{}: missing required key 'probe'", context));
  } else if (!probe.IsMap()) {
    l.r.error(probe, fmt::format("{}: probe: expected {{action: ..., with: {{...}}}}, got {}",
                                 context, describe(probe)));
  } else {
    std::string probe_context = fmt::format("probe of {}", context);
    MapView probe_map(l.r, probe, {"action", "with"}, probe_context);
    criterion.probe.with = probe_map.get("with");
    criterion.probe.where = l.r.where(probe);
    if (auto action_name = get_text(l.r, probe_map, "action", context)) {
      criterion.probe.action = *action_name;
      const ActionSchema* action = l.catalog.schema(*action_name);
      if (!action) {
        l.r.error(probe_map.get("action"),
                  fmt::format("{}: unknown action '{}'{}", context, *action_name,
                              suggestion(*action_name, l.catalog.names())));
      } else {
        if (!reads_only(action->read_only, action->read_only_param, criterion.probe.with))
          l.r.error(probe_map.get("action"),
                    fmt::format("{}: {} changes things; a criterion's probe must be a read-only "
                                "action{}",
                                context, *action_name,
                                action->read_only_param.empty()
                                    ? ""
                                    : fmt::format(" (or say `{}: true`)", action->read_only_param)));
        check_params(l, criterion.probe.with, *action, context, "probe.with", criterion.where,
                     RefPlace::Criterion);
      }
    } else if (!probe_map.has_value("action")) {
      l.r.error(probe, fmt::format("{}: probe: missing required key 'action'", context));
    }
    if (!criterion.probe.action.empty() && !l.catalog.schema(criterion.probe.action))
      check_refs(l, criterion.probe.with, context + ": probe.with", RefPlace::Criterion);
  }
  l.plan.criteria.push_back(std::move(criterion));
}

}  // namespace

void read_target(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("target: expected a map such as {{from: dir, dir: /backups, "
                                "glob: 'staging-*'}}, got {}",
                                describe(node)));
    return;
  }
  const std::string context = "target";
  MapView map(l.r, node, kTargetKeys, context);
  auto& spec = l.plan.target;
  spec.where = l.r.where(node);
  if (auto from = get_choice(l.r, map, "from", context, l.catalog.target_sources()))
    spec.from = *from;
  else if (!map.has_value("from"))
    l.r.error(node, "target: missing required key 'from'");
  if (auto dflt = get_choice(l.r, map, "default", context, kTargetDefaults))
    spec.default_target = *dflt;
  if (auto dir = get_text(l.r, map, "dir", context)) spec.dir = *dir;
  if (auto glob = get_text(l.r, map, "glob", context)) spec.glob = *glob;
  if (auto keep = get_int(l.r, map, "keep", context, 1, "target.keep")) {
    spec.keep = static_cast<int>(*keep);
    // Pruning follows a successful backup; elsewhere `keep` would silently do nothing.
    if (l.plan.kind != Kind::Backup)
      l.r.error(map.find("keep")->key_node,
                fmt::format("target.keep: only a plan of kind backup prunes the targets it makes (this plan is "
                            "kind {}); put keep: in the backup plan's target section",
                            to_string(l.plan.kind)));
  }
  if (auto makes = get_text(l.r, map, "makes", context)) {
    spec.makes = *makes;
    if (l.plan.kind != Kind::Backup)
      l.r.error(map.find("makes")->key_node,
                fmt::format("target.makes: only a plan of kind backup makes targets (this plan is kind {})",
                            to_string(l.plan.kind)));
  }
  check_refs(l, map.get("makes"), "target.makes", RefPlace::Target);
  YAML::Node with = map.get("with");
  if (with.IsDefined() && !with.IsNull() && !with.IsMap())
    l.r.error(with, fmt::format("target.with: expected a map, got {}", describe(with)));
  else if (with.IsDefined())
    spec.with = with;
  read_require(l, map, spec);  // after `from`: what an entry may be depends on it
  check_refs(l, map.get("dir"), "target.dir", RefPlace::Target);
  check_refs(l, map.get("glob"), "target.glob", RefPlace::Target);
  if (const ActionSchema* takes = spec.from.empty() ? nullptr : l.catalog.target_with(spec.from))
    check_params(l, with, *takes, "target", "with", spec.where, RefPlace::Target);
  else
    check_refs(l, with, "target.with", RefPlace::Target);

  if (spec.from == "dir") {
    if (!map.has_value("dir"))
      l.r.error(node, "target: from: dir needs 'dir' (where the targets are)");
    if (map.has("with"))
      l.r.error(map.find("with")->key_node,
                "target.with is for from: coolify, coolify-backup and git; from: dir uses dir, "
                "glob and require");
  } else if (!spec.from.empty()) {
    for (const char* key : {"dir", "glob", "keep", "makes"})
      if (const Entry* entry = map.find(key))
        l.r.error(entry->key_node, fmt::format("target.{} only applies to from: dir (this target "
                                               "is from: {}; use target.with)",
                                               key, spec.from));
  }
}

void read_criteria(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("criteria: expected a map with 'critical' and/or 'warning' "
                                "lists, got {}",
                                describe(node)));
    return;
  }
  MapView map(l.r, node, {"critical", "warning"}, "criteria");
  std::map<std::string, int> name_lines;
  for (const char* list : {"critical", "warning"}) {
    YAML::Node items = map.get(list);
    if (!items.IsDefined() || items.IsNull()) continue;
    if (!items.IsSequence()) {
      l.r.error(items, fmt::format("criteria.{}: expected a list of criteria, got {}", list,
                                   describe(items)));
      continue;
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].IsMap()) {
        l.r.error(items[i], fmt::format("criteria.{}[{}]: expected a map with name and probe, "
                                        "got {}",
                                        list, i, describe(items[i])));
        continue;
      }
      read_criterion(l, items[i], std::string_view(list) == "critical", i, name_lines);
    }
  }
}

}  // namespace rollback::plan::detail
