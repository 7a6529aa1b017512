// steps: each step's keys, retry policy, action and its parameters.
#include <fmt/format.h>
#include <algorithm>

#include "loader_internal.hpp"

namespace rollback::plan::detail {

const std::vector<std::string> kStepKeys = {"id",   "name",       "phase", "action",
                                            "with", "timeout",    "retry", "on_failure",
                                            "when", "destructive"};
const std::vector<std::string> kPhases = {"assess", "backup", "stop",  "restore",
                                          "start",  "verify", "notify"};
const std::vector<std::string> kRetryKeys = {"attempts", "delay", "backoff", "until", "every", "on"};
const std::vector<std::string> kGroupKeys = {"parallel", "id", "name"};
const std::vector<std::string> kOnFailure = {"abort", "continue"};

namespace {

std::string raw_text(const YAML::Node& map, const char* key) {
  YAML::Node value = map[key];
  return value.IsDefined() && value.IsScalar() ? value.Scalar() : std::string();
}

// Which vars each step sets, before reading the steps, so that a use before the setting
// step can say which step sets it. `number` counts steps (group members included) from 1.
void collect_step_vars(Loader& l, const YAML::Node& steps, size_t& number) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const YAML::Node& step = steps[i];
    if (!step.IsMap()) continue;
    if (const YAML::Node members = step["parallel"]; members.IsDefined() && members.IsSequence()) {
      collect_step_vars(l, members, number);
      continue;
    }
    ++number;
    const ActionSchema* action = l.catalog.schema(raw_text(step, "action"));
    if (!action) continue;
    std::string id = raw_text(step, "id");
    for (const auto& name : names_set_by(*action, step["with"]))
      l.names.all_step_vars.emplace(name, id.empty() ? fmt::format("#{}", number) : id);
  }
}

void read_retry(Loader& l, const YAML::Node& node, const std::string& context, Step& step) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("{}: retry: expected a map such as {{attempts: 3, delay: 5s}} or "
                                "{{until: 2m, every: 5s}}, got {}",
                                context, describe(node)));
    return;
  }
  MapView map(l.r, node, kRetryKeys, "retry of " + context);
  auto& retry = step.retry;
  if (auto attempts = get_int(l.r, map, "attempts", context, 1, "retry.attempts"))
    retry.attempts = static_cast<int>(*attempts);
  if (auto delay = get_duration(l.r, map, "delay", context, "retry.delay")) retry.delay = *delay;
  if (auto backoff = get_number(l.r, map, "backoff", context, 1.0, "retry.backoff"))
    retry.backoff = *backoff;
  retry.until = get_duration(l.r, map, "until", context, "retry.until");
  if (auto every = get_duration(l.r, map, "every", context, "retry.every")) retry.every = *every;
  if (auto on = get_choice(l.r, map, "on", context, {"transient", "any"}, "retry.on"))
    retry.on = *on == "any" ? RetryOn::Any : RetryOn::Transient;
  if (map.has("until") && (map.has("attempts") || map.has("backoff")))
    l.r.error(node, fmt::format("{}: retry: use attempts/delay/backoff or until/every, not both",
                                context));
  if (map.has("every") && !map.has("until"))
    l.r.error(map.get("every"), fmt::format("{}: retry.every needs retry.until (how long to keep "
                                            "trying)",
                                            context));
}

void read_when(Loader& l, const MapView& map, const std::string& context, Step& step) {
  auto when = get_text(l.r, map, "when", context);
  if (!when) return;
  step.when = *when;
  YAML::Node node = map.get("when");
  if (when->find("${") != std::string::npos) {
    check_refs(l, node, context + ": when", RefPlace::Step);
    return;
  }
  std::string name = *when;
  name.erase(0, name.find_first_not_of(" \t"));
  name.erase(name.find_last_not_of(" \t") + 1);
  if (name.empty()) {
    l.r.error(node, fmt::format("{}: when: expected a var name or ${{...}}, got nothing", context));
    return;
  }
  check_name_ref(l, l.r.where(node), name, context + ": when", RefPlace::Step);
}

// The parallel group a step is read in, if any.
struct GroupInfo {
  std::string id;
  std::string name;
};

// Records the vars a step sets: at once for a step on its own; for a group member only in
// the group's list (they become usable after the group), refusing a second member that sets
// the same one (which value stayed would be chance).
void note_vars_set(Loader& l, const ActionSchema& action, const YAML::Node& with, const std::string& context,
                   const GroupInfo* group) {
  const YAML::Node& values = with;  // const: operator[] must not add keys to the plan
  for (const auto& name : names_set_by(action, values)) {
    if (!group) {
      l.names.step_vars.insert(name);
      continue;
    }
    auto [it, added] = l.names.group_vars.emplace(name, l.names.current_step);
    if (added || it->second == l.names.current_step) continue;
    YAML::Node at = values;
    for (const auto& spec : action.params)
      if (spec.sets_var && values[spec.name].IsDefined() && values[spec.name].IsScalar() &&
          values[spec.name].Scalar() == name)
        at.reset(values[spec.name]);  // reset, not =: a Node's = writes into the node it refers to
    l.r.error(at, fmt::format("{}: ${{{}}} is also set by step '{}' of the same parallel group; members run at "
                              "the same time, so which value stayed would be chance",
                              context, name, it->second));
  }
}

void read_step(Loader& l, const YAML::Node& node, size_t number, std::map<std::string, int>& id_lines,
               const GroupInfo* group) {
  std::string raw_id = raw_text(node, "id");
  std::string context = raw_id.empty() ? fmt::format("step #{}", number) : fmt::format("step '{}'", raw_id);
  MapView map(l.r, node, kStepKeys, context);
  l.names.current_step = raw_id.empty() ? fmt::format("#{}", number) : raw_id;
  Step step;
  step.where = l.r.where(node);
  if (group) {
    step.group = group->id;
    step.group_name = group->name;
  }

  if (auto id = get_text(l.r, map, "id", context)) {
    step.id = *id;
    if (!is_name(*id, true)) {
      l.r.error(map.get("id"), fmt::format("{}: id may use letters, digits, '-', '_' and '.' "
                                           "only",
                                           context));
    } else if (auto it = id_lines.find(*id); it != id_lines.end()) {
      l.r.error(map.get("id"),
                fmt::format("duplicate step id '{}' (first defined at line {})", *id, it->second));
    } else {
      id_lines[*id] = l.r.where(map.get("id")).line;
    }
  } else if (!map.has_value("id")) {
    l.r.error(node, fmt::format("{}: missing required key 'id'", context));
  }
  step.name = get_text(l.r, map, "name", context).value_or(step.id);
  if (step.name.empty()) step.name = step.id;
  if (auto phase = get_choice(l.r, map, "phase", context, kPhases))
    step.phase = *parse_phase(*phase);
  step.timeout = get_duration(l.r, map, "timeout", context);
  read_retry(l, map.get("retry"), context, step);
  if (auto on_failure = get_choice(l.r, map, "on_failure", context, kOnFailure))
    step.on_failure = *on_failure == "continue" ? OnFailure::Continue : OnFailure::Abort;
  read_when(l, map, context, step);
  auto destructive = get_bool(l.r, map, "destructive", context);

  YAML::Node with = map.get("with");
  if (with.IsDefined()) step.with = with;
  const ActionSchema* action = nullptr;
  if (auto name = get_text(l.r, map, "action", context)) {
    step.action = *name;
    action = l.catalog.schema(*name);
    if (!action) {
      auto names = l.catalog.names();
      auto hint = suggestion(*name, names);
      if (hint.empty()) hint = fmt::format(" (known actions: {})", join(names));
      l.r.error(map.get("action"), fmt::format("{}: unknown action '{}'{}", context, *name, hint));
    }
  } else if (!map.has_value("action")) {
    l.r.error(node, fmt::format("{}: missing required key 'action'", context));
  }
  if (action) {
    check_params(l, with, *action, context, "with", step.where, RefPlace::Step);
    bool read_only = reads_only(action->read_only, action->read_only_param, with);
    step.destructive = destructive.value_or(action->destructive && !read_only);
    if (read_only && destructive.value_or(false))
      l.r.error(map.get("destructive"), fmt::format("{}: destructive: true contradicts {}: true", context,
                                                    action->read_only_param));
    note_vars_set(l, *action, with, context, group);
  } else {
    check_refs(l, with, context + ": with", RefPlace::Step);
    step.destructive = destructive.value_or(false);
  }
  l.plan.steps.push_back(std::move(step));
}

// An item `parallel: [step, ...]` (with optional `id` and `name`): its steps start together.
void read_group(Loader& l, const YAML::Node& node, size_t& number, size_t& groups,
                std::map<std::string, int>& id_lines) {
  ++groups;
  std::string raw_id = raw_text(node, "id");
  std::string context =
      raw_id.empty() ? fmt::format("parallel group #{}", groups) : fmt::format("parallel group '{}'", raw_id);
  MapView map(l.r, node, kGroupKeys, context);
  GroupInfo group{fmt::format("parallel-{}", groups), ""};
  if (auto id = get_text(l.r, map, "id", context)) {
    if (!is_name(*id, true)) {
      l.r.error(map.get("id"), fmt::format("{}: id may use letters, digits, '-', '_' and '.' only", context));
    } else if (auto it = id_lines.find(*id); it != id_lines.end()) {
      l.r.error(map.get("id"), fmt::format("duplicate step id '{}' (first defined at line {})", *id, it->second));
    } else {
      id_lines[*id] = l.r.where(map.get("id")).line;
      group.id = *id;
    }
  }
  group.name = get_text(l.r, map, "name", context).value_or("");
  YAML::Node members = map.get("parallel");
  if (!members.IsNull() && !members.IsSequence()) {
    l.r.error(members, fmt::format("{}: parallel: expected a list of steps, got {}", context, describe(members)));
    return;
  }
  if (members.IsNull() || members.size() == 0) {
    l.r.error(members.IsNull() ? map.find("parallel")->key_node : members,
              fmt::format("{}: has no steps (list the steps that start together under parallel:)", context));
    return;
  }
  l.names.group_vars.clear();
  const size_t first = l.plan.steps.size();
  for (size_t i = 0; i < members.size(); ++i) {
    const YAML::Node& member = members[i];
    if (!member.IsMap()) {
      l.r.error(member, fmt::format("{}: parallel[{}]: expected a step (a map with id and action), got {}", context,
                                    i, describe(member)));
      continue;
    }
    if (member["parallel"].IsDefined()) {
      l.r.error(member, fmt::format("{}: a parallel group cannot hold another group (groups do not nest); list "
                                    "all the steps that start together in one group",
                                    context));
      continue;
    }
    read_step(l, member, ++number, id_lines, &group);
  }
  // Vars the members set are usable after the group, not inside it.
  for (const auto& [name, setter] : l.names.group_vars) l.names.step_vars.insert(name);
  l.names.group_vars.clear();
  // The report shows a group as one block of its phase.
  for (size_t i = first + 1; i < l.plan.steps.size(); ++i) {
    const Step& lead = l.plan.steps[first];
    const Step& step = l.plan.steps[i];
    if (step.phase != lead.phase)
      l.r.error(step.where, fmt::format("step '{}': phase {} differs from phase {} of step '{}' in the same parallel "
                                        "group; the report shows a group as one block, so give its steps one phase",
                                        step.id, to_string(step.phase), to_string(lead.phase), lead.id));
  }
}

}  // namespace

void read_steps(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;  // reported as a missing key
  if (!node.IsSequence()) {
    l.r.error(node, fmt::format("steps: expected a list of steps, got {}", describe(node)));
    return;
  }
  if (node.size() == 0) {
    l.r.error(node, "steps: the plan has no steps");
    return;
  }
  size_t counted = 0;
  collect_step_vars(l, node, counted);
  std::map<std::string, int> id_lines;
  size_t number = 0, groups = 0;
  for (size_t i = 0; i < node.size(); ++i) {
    if (!node[i].IsMap()) {
      l.r.error(node[i], fmt::format("steps[{}]: expected a step (a map with id and action), got "
                                     "{}",
                                     i, describe(node[i])));
      continue;
    }
    if (node[i]["parallel"].IsDefined()) {
      read_group(l, node[i], number, groups, id_lines);
      continue;
    }
    read_step(l, node[i], ++number, id_lines, nullptr);
  }
}

}  // namespace rollback::plan::detail
