#include <rollback/engine/app_logs.hpp>

#include <fmt/format.h>

#include <rollback/engine/probe.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::engine {
namespace {

constexpr size_t kAppLogLineBytes = 400;

// An application's log lines are data, not markup or terminal codes: credentials masked,
// control bytes made visible, each line capped.
// Masked before the cap, so a cut cannot split a password out of its URI.
std::string as_data(std::string_view text) { return cap_line_length(redact(escape_controls(text)), kAppLogLineBytes); }

}  // namespace

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
    if (outcome.ok) return {as_data(outcome.message), as_data(outcome.log_excerpt), ""};
    problem = redact(fmt::format("{}: {}", name, outcome.message));
  }
  return {"", "", problem};
}

}  // namespace rollback::engine
