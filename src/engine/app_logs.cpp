#include <rollback/engine/app_logs.hpp>

#include <fmt/format.h>

#include <rollback/engine/probe.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine {

AppLogs collect_app_logs(const actions::Registry& registry, proc::Runner& runner, const plan::Plan& plan,
                         const plan::Scope& scope, std::chrono::system_clock::time_point since, Millis timeout) {
  std::vector<std::pair<std::string, YAML::Node>> candidates;  // action, with
  for (const auto& probe : plan.monitor.probes) candidates.emplace_back(probe.action, probe.with);
  for (const auto& step : plan.steps) candidates.emplace_back(step.action, step.with);
  std::string problem = "no step or monitor probe of the plan names the application's containers";
  for (const auto& [name, with] : candidates) {
    const auto* action = registry.find(name);
    if (!action || !action->app_logs) continue;
    auto params = plan::resolve_params(with, scope, action->params);
    if (!params) continue;  // uses a value a step sets: not known before the run
    auto ctx = outside_step_context(runner, "incident-logs", timeout);
    auto outcome = action->app_logs(ctx, *params, since);
    if (outcome.ok) return {redact(outcome.message), redact(outcome.log_excerpt), ""};
    problem = redact(fmt::format("{}: {}", name, outcome.message));
  }
  return {"", "", problem};
}

}  // namespace rollback::engine
