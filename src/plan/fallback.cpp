#include <rollback/plan/fallback.hpp>

#include <algorithm>
#include <fmt/format.h>

#include <rollback/util/text.hpp>

namespace rollback::plan {
namespace {

bool declares(const Plan& plan, const std::string& name) {
  return std::any_of(plan.vars.begin(), plan.vars.end(), [&](const auto& var) { return var.first == name; });
}

}  // namespace

bool step_reads_only(const ActionCatalog& catalog, const Step& step) {
  const ActionSchema* action = catalog.schema(step.action);
  return action && reads_only(action->read_only, action->read_only_param, step.with);
}

bool step_failure_changes_nothing(const ActionCatalog& catalog, const Step& step) {
  const ActionSchema* action = catalog.schema(step.action);
  return action && (action->failure_changes_nothing || step_reads_only(catalog, step));
}

Diagnostics check_fallback_pair(const Plan& first, const Plan& fallback) {
  Diagnostics out;
  if (!fallback.fallback.plan.empty())
    out.push_back({first.fallback.where,
                   fmt::format("fallback: plan '{}' has a fallback of its own ('{}', {}); a fallback runs one level "
                               "only, so remove one of the two",
                               fallback.name, fallback.fallback.plan, fallback.fallback.where.str())});
  for (const auto& criterion : first.criteria)
    for (const auto& [name, value] : criterion.vars)
      if (!declares(first, name) && !declares(fallback, name))
        out.push_back({criterion.where, fmt::format("criterion '{}': vars.{}: neither plan '{}' nor its fallback "
                                                    "'{}' has a var '{}'",
                                                    criterion.name, name, first.name, fallback.name, name)});
  return out;
}

Diagnostics check_criterion_vars(const Plan& plan) {
  Diagnostics out;
  for (const auto& criterion : plan.criteria)
    for (const auto& [name, value] : criterion.vars)
      if (!declares(plan, name))
        out.push_back({criterion.where, fmt::format("criterion '{}': vars.{}: plan '{}' has no var '{}'",
                                                    criterion.name, name, plan.name, name)});
  return out;
}

Result<std::map<std::string, std::string>> overrides_for(const Plan& plan,
                                                         const std::map<std::string, std::string>& given,
                                                         const Plan* other) {
  std::map<std::string, std::string> taken;
  for (const auto& [name, value] : given) {
    if (declares(plan, name)) taken[name] = value;
    else if (!other || !declares(*other, name))
      return fail(other ? fmt::format("--var {}=...: neither plan '{}' nor its fallback '{}' has a var '{}'", name,
                                      plan.name, other->name, name)
                        : fmt::format("--var {}=...: plan '{}' has no var '{}'", name, plan.name, name));
  }
  return taken;
}

}  // namespace rollback::plan
