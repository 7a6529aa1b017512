// The relevant logs of an incident log: the application's own recent output, read before a
// run stops anything, through the first action of the plan that can name the application's
// containers (its monitor's container probe, else its steps in order) and has `app_logs`.
#pragma once

#include <chrono>
#include <string>

#include <rollback/actions/action.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/proc/runner.hpp>

namespace rollback::engine {

struct AppLogs {
  std::string source;   // what was read ("docker logs of 2 of 2 container(s) of project x, since ...")
  std::string excerpt;  // bounded and redacted; "" when nothing could be read
  std::string problem;  // why nothing was read ("" when something was)
};

AppLogs collect_app_logs(const actions::Registry& registry, proc::Runner& runner, const plan::Plan& plan,
                         const plan::Scope& scope, std::chrono::system_clock::time_point since, Millis timeout);

}  // namespace rollback::engine
