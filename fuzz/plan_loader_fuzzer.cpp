// Fuzz target: arbitrary bytes as a plan file. The loader must return diagnostics, never
// crash, hang or throw; for a plan it accepts, every step's `with` must resolve (or fail
// cleanly) against a scope holding a few vars, a secret and the run builtins.
#include <cstddef>
#include <cstdint>
#include <string>

#include <rollback/actions/action.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/loader.hpp>

#include "fuzz_driver.hpp"

using namespace rollback;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& registry = actions::builtin_registry();
  std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = plan::load_plan_text(text, "fuzz.yaml", registry);
  for (const auto& d : loaded.diagnostics) (void)d.str();
  if (!loaded.plan) return 0;

  plan::Scope scope;
  scope.set_var("backups", "/tmp/fuzz-backups");
  scope.set_var("healthy", "yes");
  scope.set_var("name", "${not-rescanned}");
  scope.set_secret("token", "fuzz-secret-value");
  scope.set_builtin("run.id", "20250127-180000-abcd");
  scope.set_builtin("run.started", "20250127-180000");
  scope.set_builtin("target.name", "t1");
  scope.set_builtin("target.path", "/tmp/t1");
  for (const auto& [name, node] : loaded.plan->vars)
    if (node.IsScalar()) scope.set_var(name, node.Scalar());
  for (const auto& step : loaded.plan->steps) {
    const auto* action = registry.find(step.action);
    if (action == nullptr) __builtin_trap();  // the loader accepted an unknown action
    auto params = plan::resolve_params(step.with, scope, action->params);
    if (params && action->describe) (void)action->describe(*params);
  }
  return 0;
}
