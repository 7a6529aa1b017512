#include "support/action_harness.hpp"

#include <stdexcept>

namespace testing {

rollback::actions::ActionContext ActionHarness::context() {
  return rollback::actions::ActionContext{
      .step_id = "test-step",
      .runner = runner,
      .set_var = [this](const std::string& k, const std::string& v) { vars[k] = v; },
      .log = [this](std::string_view line) { log.emplace_back(line); },
  };
}

static const rollback::actions::Action& find_action(const std::string& name) {
  const auto* action = rollback::actions::builtin_registry().find(name);
  if (!action) throw std::runtime_error("no action " + name);
  return *action;
}

rollback::actions::Outcome ActionHarness::run(const std::string& action, const nlohmann::json& params) {
  auto ctx = context();
  return find_action(action).run(ctx, rollback::actions::Params(params));
}

rollback::actions::Outcome ActionHarness::preflight(const std::string& action, const nlohmann::json& params) {
  const auto& a = find_action(action);
  if (!a.preflight) return rollback::actions::Outcome::success("no preflight");
  auto ctx = context();
  return a.preflight(ctx, rollback::actions::Params(params));
}

}  // namespace testing
