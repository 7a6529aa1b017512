// Runs one action directly, the way the executor would, and records what it set and logged.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <rollback/actions/action.hpp>
#include <rollback/proc/runner.hpp>

namespace testing {

struct ActionHarness {
  rollback::proc::SystemRunner runner;
  std::map<std::string, std::string> vars;
  std::vector<std::string> log;
  rollback::actions::ActionContext context();

  // Looks the action up in the built-in registry and runs it with `params` (JSON).
  rollback::actions::Outcome run(const std::string& action, const nlohmann::json& params);
  rollback::actions::Outcome preflight(const std::string& action, const nlohmann::json& params);
};

}  // namespace testing
