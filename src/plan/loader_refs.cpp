// ${...} references at load time: every name must be defined where it is used, and vars
// must not depend on each other in a circle.
#include <fmt/format.h>
#include <algorithm>

#include <rollback/plan/interpolate.hpp>

#include "loader_internal.hpp"

namespace rollback::plan::detail {
namespace {

bool is_plain(std::string_view name) {
  return name.find('.') == std::string_view::npos;
}

// ${run.*}: known everywhere; the outcome ones only to the plan-level notify list, which
// runs once the run has ended.
const std::vector<std::string> kRunNames = {"run.id", "run.started", "run.attended"};
const std::vector<std::string> kRunOutcomeNames = {"run.result", "run.exit_code", "run.summary",
                                                   "run.report", "run.plans",     "run.target"};

bool known_run_name(const std::string& name, RefPlace place) {
  auto in = [&](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  return in(kRunNames) || (place == RefPlace::Notify && in(kRunOutcomeNames));
}

std::vector<std::string> candidates(const Loader& l, RefPlace place) {
  std::vector<std::string> out(l.names.vars.begin(), l.names.vars.end());
  if (place == RefPlace::Step)
    for (const auto& name : l.names.step_vars) out.push_back(name);
  for (const auto& name : l.names.secrets) out.push_back("secrets." + name);
  if (place == RefPlace::Step || place == RefPlace::Var || place == RefPlace::Require) {
    out.push_back("target.name");
    out.push_back("target.path");
    out.push_back("target.commit");
  }
  out.insert(out.end(), kRunNames.begin(), kRunNames.end());
  if (place == RefPlace::Notify) out.insert(out.end(), kRunOutcomeNames.begin(), kRunOutcomeNames.end());
  return out;
}

// The problem with one reference, or "" when it is defined for `place`.
std::string problem(const Loader& l, const std::string& name, RefPlace place) {
  if (name.starts_with("env.")) {
    if (name.size() == 4) return "${env.} needs a variable name (${env.HOME})";
    return "";
  }
  if (name.starts_with("secrets.")) {
    std::string secret = name.substr(8);
    if (l.names.secrets.count(secret)) return "";
    std::vector<std::string> declared(l.names.secrets.begin(), l.names.secrets.end());
    return fmt::format("undefined secret ${{{}}}: declare '{}' under secrets:{}", name, secret,
                       suggestion(secret, declared));
  }
  if (name.starts_with("target.")) {
    if (name != "target.name" && name != "target.path" && name != "target.commit")
      return fmt::format("unknown ${{{}}} (use ${{target.name}}, ${{target.path}} or ${{target.commit}})", name);
    if (place == RefPlace::Target)
      return fmt::format(
          "${{{}}} cannot be used in the target section: it is what the section "
          "chooses",
          name);
    if (place == RefPlace::Notify)
      return fmt::format("${{{}}} is not known here: the notify list runs also when no target was chosen; "
                         "use ${{run.target}}",
                         name);
    if (place == RefPlace::Criterion || place == RefPlace::SecretFile)
      return fmt::format(
          "${{{}}} is not known here: criteria and secrets are read without a "
          "target",
          name);
    if (l.plan.kind == Kind::Backup && !l.names.makes_target)
      return fmt::format(
          "${{{}}} is not known in a plan of kind backup: it takes no --target (its target "
          "section describes the targets it makes; name the one this run makes with target.makes)",
          name);
    return "";
  }
  if (name.starts_with("run.")) {
    if (known_run_name(name, place)) return "";
    if (place != RefPlace::Notify && std::find(kRunOutcomeNames.begin(), kRunOutcomeNames.end(), name) !=
                                         kRunOutcomeNames.end())
      return fmt::format("${{{}}} is known only in the plan's notify list, which runs after the run ended", name);
    return fmt::format("unknown ${{{}}} (use {})", name,
                       join(place == RefPlace::Notify ? std::vector<std::string>{"${run.id}", "${run.result}",
                                                                                 "${run.summary}", "${run.report}"}
                                                      : std::vector<std::string>{"${run.id}", "${run.started}",
                                                                                 "${run.attended}"}));
  }
  if (place == RefPlace::SecretFile && is_plain(name))
    return fmt::format(
        "${{{}}}: a secret's file path can use only ${{env.*}} and ${{run.*}} "
        "(secrets are read before vars are bound)",
        name);
  if (is_plain(name) && l.names.vars.count(name)) {
    if (place == RefPlace::Notify && l.names.target_dependent.count(name))
      return fmt::format("${{{}}} uses ${{target.*}}, which is not known when the run stopped before choosing "
                         "a target; use ${{run.target}}",
                         name);
    if (place == RefPlace::Target && l.names.target_dependent.count(name))
      return fmt::format(
          "${{{}}} uses ${{target.*}}, which is not known until the target is "
          "chosen",
          name);
    return "";
  }
  // A sibling in the same parallel group sets it: the two run at the same time, so the
  // value read would depend on which one gets there first.
  if (auto it = l.names.group_vars.find(name);
      place == RefPlace::Step && it != l.names.group_vars.end() && it->second != l.names.current_step)
    return fmt::format(
        "${{{}}} is set by step '{}' of the same parallel group, which runs at the same time "
        "as this step; move the step that uses it after the group",
        name, it->second);
  if (place == RefPlace::Step && l.names.step_vars.count(name)) return "";
  if (auto it = l.names.all_step_vars.find(name); it != l.names.all_step_vars.end()) {
    if (place == RefPlace::Step && it->second == l.names.current_step)
      return fmt::format("undefined variable ${{{}}}: this step sets it, so it has no value yet",
                         name);
    if (place == RefPlace::Step)
      return fmt::format(
          "undefined variable ${{{}}}: step '{}' sets it, but runs after this "
          "step",
          name, it->second);
    return fmt::format(
        "undefined variable ${{{}}}: it is set by step '{}' and only steps can use "
        "it",
        name, it->second);
  }
  return fmt::format("undefined variable ${{{}}}{}", name, suggestion(name, candidates(l, place)));
}

void check_scalar(Loader& l, const YAML::Node& scalar, const std::string& label, RefPlace place) {
  auto scan = scan_references(scalar.Scalar());
  for (const auto& ref : scan.refs) {
    auto message = problem(l, ref.name, place);
    if (!message.empty())
      l.r.error(l.r.where_in(scalar, ref.offset), fmt::format("{}: {}", label, message));
  }
  if (!scan.error.empty())
    l.r.error(l.r.where_in(scalar, scan.error_offset),
              fmt::format("{}: {} (write \"$${{\" for a literal \"${{\")", label, scan.error));
}

}  // namespace

void check_refs(Loader& l, const YAML::Node& node, const std::string& label, RefPlace place) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (node.IsScalar()) {
    check_scalar(l, node, label, place);
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      check_refs(l, node[i], fmt::format("{}[{}]", label, i), place);
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      check_refs(l, kv.second, label + "." + key, place);
    }
  }
}

void check_name_ref(Loader& l, const Location& at, const std::string& name,
                    const std::string& label, RefPlace place) {
  auto message = problem(l, name, place);
  if (!message.empty()) l.r.error(at, fmt::format("{}: {}", label, message));
}

void check_var_graph(Loader& l) {
  // Edges: var -> the plan vars its value names. Secrets are leaves; target.* marks it.
  std::map<std::string, std::vector<std::string>> uses;
  std::map<std::string, YAML::Node> nodes;
  std::vector<std::string> order;
  for (const auto& [name, value] : l.plan.vars) {
    order.push_back(name);
    nodes[name] = value;
    auto& edges = uses[name];
    if (!value.IsScalar()) continue;
    for (const auto& ref : scan_references(value.Scalar()).refs) {
      if (ref.name.starts_with("target.")) l.names.target_dependent.insert(name);
      if (is_plain(ref.name) && l.names.vars.count(ref.name)) edges.push_back(ref.name);
    }
  }
  // target.* dependence spreads to every var that uses a dependent one.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& name : order)
      if (!l.names.target_dependent.count(name))
        for (const auto& dep : uses[name])
          if (l.names.target_dependent.count(dep)) {
            l.names.target_dependent.insert(name);
            changed = true;
            break;
          }
  }
  // Depth-first search in file order; a back edge is a cycle, reported once at its first var.
  std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
  std::vector<std::string> path;
  std::set<std::string> in_reported_cycle;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    state[name] = 1;
    path.push_back(name);
    for (const auto& dep : uses[name]) {
      if (state[dep] == 1) {
        auto start = std::find(path.begin(), path.end(), dep);
        std::vector<std::string> cycle(start, path.end());
        cycle.push_back(dep);
        if (std::none_of(cycle.begin(), cycle.end(),
                         [&](const auto& v) { return in_reported_cycle.count(v) > 0; })) {
          in_reported_cycle.insert(cycle.begin(), cycle.end());
          l.r.error(nodes[dep],
                    fmt::format("vars.{}: cycle between vars: {}", dep, join(cycle, " -> ")));
        }
      } else if (state[dep] == 0) {
        visit(dep);
      }
    }
    path.pop_back();
    state[name] = 2;
  };
  for (const auto& name : order)
    if (state[name] == 0) visit(name);
}

std::vector<std::string> names_set_by(const ActionSchema& action, const YAML::Node& with) {
  std::vector<std::string> out;
  // IsDefined first: a missing key of a const node is "invalid" and IsMap() would throw.
  if (!with.IsDefined() || !with.IsMap()) return out;
  for (const auto& spec : action.params) {
    if (!spec.sets_var) continue;
    YAML::Node value = with[spec.name];
    if (value.IsDefined() && value.IsScalar() && is_name(value.Scalar()))
      out.push_back(value.Scalar());
  }
  return out;
}

}  // namespace rollback::plan::detail
