#include <rollback/engine/probe.hpp>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>

namespace rollback::engine {

actions::ActionContext outside_step_context(proc::Runner& runner, std::string id, Millis timeout) {
  return actions::ActionContext{.step_id = std::move(id),
                                .runner = runner,
                                .set_var = [](const std::string&, const std::string&) {},
                                .log = [](std::string_view) {},
                                .timeout = timeout,
                                .deadline = std::chrono::steady_clock::now() + timeout};
}

ProbeOutcome run_probe(const actions::Registry& registry, proc::Runner& runner, const plan::ProbeSpec& probe,
                       const plan::Scope& scope, Millis timeout) {
  ProbeOutcome result;
  const auto* action = registry.find(probe.action);
  if (!action) {
    result.outcome = actions::Outcome::failure(fmt::format("unknown action {}", probe.action));
  } else if (auto params = plan::resolve_params(probe.with, scope, action->params); !params) {
    result.outcome = actions::Outcome::failure(params.error().message);
  } else {
    auto ctx = outside_step_context(runner, "probe", timeout);
    result.outcome = action->run(ctx, *params);
  }
  std::string observed;
  for (const auto& o : result.outcome.observations)
    observed += (observed.empty() ? "" : " ") + o.name + "=" + o.value;
  if (!result.outcome.ok || observed.empty())
    observed += (observed.empty() ? "" : "; ") + result.outcome.message;
  result.observed = redact(observed);
  return result;
}

}  // namespace rollback::engine
