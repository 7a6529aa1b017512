// Plan files -> Plan: the top level, vars, secrets and report. Steps, target and criteria
// are read in loader_steps.cpp and loader_target.cpp; ${...} checks in loader_refs.cpp.
#include <rollback/plan/loader.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include <rollback/plan/fallback.hpp>
#include <rollback/util/fs.hpp>

#include "loader_internal.hpp"

namespace rollback::plan {
namespace detail {

const std::vector<std::string> kTopKeys = {
    "version", "name",  "description", "kind",    "budget",   "vars",  "secrets",
    "target",  "steps", "criteria",    "monitor", "cooldown", "fallback", "offsite", "notify", "report"};
const std::vector<std::string> kKinds = {"quick",   "full",   "emergency", "coolify",
                                         "git-sql", "backup", "custom"};
const std::vector<std::string> kReportKeys = {"title", "contacts", "checklist", "follow_up", "lang"};

void read_vars(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("vars: expected a map of names to values, got {}", describe(node)));
    return;
  }
  std::map<std::string, int> first_line;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      l.r.error(kv.first, fmt::format("vars: names must be text, got {}", describe(kv.first)));
      continue;
    }
    std::string name = kv.first.Scalar();
    if (!is_name(name)) {
      l.r.error(kv.first, fmt::format("vars: '{}' is not a valid var name (letters, digits, "
                                      "'_' and '-')",
                                      name));
      continue;
    }
    if (auto it = first_line.find(name); it != first_line.end()) {
      l.r.error(kv.first,
                fmt::format("vars: duplicate var '{}' (first at line {})", name, it->second));
      continue;
    }
    first_line[name] = l.r.where(kv.first).line;
    if (!kv.second.IsNull() && !kv.second.IsScalar()) {
      l.r.error(kv.second,
                fmt::format("vars.{}: expected a text value, got {}", name, describe(kv.second)));
      continue;
    }
    l.names.vars.insert(name);
    l.plan.vars.emplace_back(name, kv.second);
  }
}

void read_secrets(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("secrets: expected a map of names to {{env: NAME}} or "
                                "{{file: PATH}}, got {}",
                                describe(node)));
    return;
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar() || !is_name(kv.first.Scalar())) {
      l.r.error(kv.first, fmt::format("secrets: {} is not a valid secret name (letters, digits, "
                                      "'_' and '-')",
                                      describe(kv.first)));
      continue;
    }
    SecretSource secret;
    secret.name = kv.first.Scalar();
    secret.where = l.r.where(kv.first);
    std::string context = fmt::format("secret '{}'", secret.name);
    if (l.names.secrets.count(secret.name)) {
      l.r.error(kv.first, fmt::format("secrets: duplicate secret '{}'", secret.name));
      continue;
    }
    l.names.secrets.insert(secret.name);
    if (!kv.second.IsMap()) {
      l.r.error(kv.second, fmt::format("{}: expected {{env: NAME}} or {{file: PATH}}, got {}",
                                       context, describe(kv.second)));
      continue;
    }
    MapView map(l.r, kv.second, {"env", "file"}, context);
    secret.env = get_text(l.r, map, "env", context).value_or("");
    secret.file = get_text(l.r, map, "file", context).value_or("");
    if (secret.env.empty() == secret.file.empty()) {
      l.r.error(kv.second, fmt::format("{}: needs exactly one of 'env' or 'file'", context));
      continue;
    }
    if (!secret.file.empty())
      check_refs(l, map.get("file"), context + ": file", RefPlace::SecretFile);
    l.plan.secrets.push_back(std::move(secret));
  }
}

void read_report(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("report: expected a map, got {}", describe(node)));
    return;
  }
  const std::string context = "report";
  MapView map(l.r, node, kReportKeys, context);
  auto& report = l.plan.report;
  report.title = get_text(l.r, map, "title", context).value_or("");
  report.contacts = get_text_list(l.r, map, "contacts", context).value_or(report.contacts);
  report.checklist = get_text_list(l.r, map, "checklist", context).value_or(report.checklist);
  report.follow_up = get_text_list(l.r, map, "follow_up", context).value_or(report.follow_up);
  report.lang = get_choice(l.r, map, "lang", context, {"en", "es"}).value_or(report.lang);
}

namespace {

// YAML merge keys (`<<: *defaults`, or a list of aliases), which yaml-cpp reads as a plain
// key: the merged map's entries are added where the map has no such key of its own (its own
// win; of a list, the earlier wins), then `<<` goes. In place, so every value keeps its file
// position for diagnostics.
void expand_merge_keys(YAML::Node node, int depth = 0) {
  if (depth > 64) return;  // aliases nested this deep are no plan
  if (node.IsSequence()) {
    for (auto item : node) expand_merge_keys(item, depth + 1);
    return;
  }
  if (!node.IsMap()) return;
  YAML::Node merge = node["<<"];
  if (merge.IsDefined()) {
    std::vector<YAML::Node> sources;
    if (merge.IsMap()) sources.push_back(merge);
    if (merge.IsSequence())
      for (auto item : merge)
        if (item.IsMap()) sources.push_back(item);
    if (!sources.empty()) {
      node.remove("<<");
      for (const auto& source : sources)
        for (const auto& kv : source) {
          auto key = kv.first.as<std::string>("");
          if (!key.empty() && !node[key].IsDefined()) node[key] = kv.second;  // a fresh entry: binds
        }
    }
  }
  for (auto kv : node) expand_merge_keys(kv.second, depth + 1);
}

void read_top(Loader& l, const YAML::Node& root) {
  Reader& r = l.r;
  // `x-` keys hold anchors for merge keys and other notes, as in Compose files.
  std::vector<std::string> allowed = kTopKeys;
  for (const auto& kv : root)
    if (kv.first.IsScalar() && kv.first.Scalar().starts_with("x-")) allowed.push_back(kv.first.Scalar());
  MapView top(r, root, allowed, "");
  for (const char* key : {"version", "name", "steps"})
    if (!top.has_value(key)) r.error(root, fmt::format("missing required key '{}'", key));

  if (auto version = get_text(r, top, "version", "")) {
    if (*version != "1")
      r.error(top.get("version"), fmt::format("version: expected 1, got '{}' (this rollback reads "
                                              "plan version 1)",
                                              *version));
  }
  if (auto name = get_text(r, top, "name", "")) {
    // The name becomes part of the run's folder name (runs/<time>-<name>-<id>): only
    // characters that cannot leave that folder or hide in it.
    if (name->empty()) r.error(top.get("name"), "name: must not be empty");
    else if (!is_plan_name(*name))
      r.error(top.get("name"), fmt::format("name: '{}' is not a plan name: use letters, digits, '.', '_' and '-', "
                                           "starting with a letter or digit (it names the run's folder)",
                                           *name));
    l.plan.name = *name;
  }
  l.plan.description = get_text(r, top, "description", "").value_or("");
  if (auto kind = get_choice(r, top, "kind", "", kKinds)) l.plan.kind = *parse_kind(*kind);
  l.plan.budget = get_duration(r, top, "budget", "");
  l.plan.cooldown = get_duration(r, top, "cooldown", "");

  // Order matters: names must be known before the sections that reference them.
  read_vars(l, top.get("vars"));
  read_secrets(l, top.get("secrets"));
  check_var_graph(l);
  if (auto target = top.get("target"); target.IsMap() && target["makes"]) l.names.makes_target = true;
  for (const auto& [name, value] : l.plan.vars) check_refs(l, value, "vars." + name, RefPlace::Var);
  read_target(l, top.get("target"));
  read_steps(l, top.get("steps"));
  read_criteria(l, top.get("criteria"));
  read_monitor(l, top.get("monitor"));
  read_fallback(l, top.get("fallback"));
  read_offsite(l, top.get("offsite"));
  read_notify(l, top.get("notify"));
  // With a fallback, a criterion may set a var only the fallback declares: checked with both
  // plans (plan/fallback.hpp), where `validate` and `check` load the pair.
  if (l.plan.fallback.plan.empty())
    for (const auto& d : check_criterion_vars(l.plan)) l.r.error(d.where, d.message);
  read_report(l, top.get("report"));
}

}  // namespace
}  // namespace detail

LoadResult load_plan_text(const std::string& text, const std::string& file_name,
                          const ActionCatalog& catalog) {
  LoadResult result;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Location where{file_name, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                   e.mark.column >= 0 ? e.mark.column + 1 : 0};
    result.diagnostics.push_back({where, fmt::format("YAML syntax error: {}", e.msg)});
    return result;
  }
  if (!root.IsDefined() || root.IsNull()) {
    result.diagnostics.push_back(
        {Location{file_name, 1, 1},
         "the plan is empty: expected a map with version, name and steps"});
    return result;
  }
  if (!root.IsMap()) {
    result.diagnostics.push_back(
        {location_of(file_name, root),
         fmt::format("expected a plan (a map with version, name and steps), got {}",
                     detail::describe(root))});
    return result;
  }
  Plan plan;
  plan.path = file_name;
  plan.sha256 = sha256_hex(text);
  detail::Reader reader(file_name, text, result.diagnostics);
  detail::Loader loader{reader, catalog, plan, {}};
  detail::expand_merge_keys(root);
  detail::read_top(loader, root);
  if (result.diagnostics.empty()) result.plan = std::move(plan);
  return result;
}

LoadResult load_plan(const std::filesystem::path& path, const ActionCatalog& catalog) {
  auto text = read_file(path);
  if (!text) {
    LoadResult result;
    result.diagnostics.push_back({Location{path.string(), 0, 0}, text.error().message});
    return result;
  }
  return load_plan_text(*text, path.string(), catalog);
}

bool is_plan_name(std::string_view name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace rollback::plan
