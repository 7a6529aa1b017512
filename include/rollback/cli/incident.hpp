// The incident log a run's report carries (shared/spec.md's runbook "Log de Incidente"):
// when the failure began, the symptoms, the action taken and the relevant logs. `check
// --auto` fills it from its criteria state; a person gives `--since TIME`.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/util/time.hpp>

namespace rollback::cli {

// `--since`: an ISO-8601 UTC time (2025-01-27T17:40:00Z) or a duration ago (30m).
std::optional<SystemTime> parse_since(std::string_view text, SystemTime now);

// Puts the run's incident log into its record (record.extra["incident"]), once its vars are
// bound and before anything runs: `check --auto`'s (args.incident) or one begun at --since,
// plus the application's logs from a minute before it began, read through the plan's
// actions (engine/app_logs.hpp). Nothing when the run has neither.
void note_incident(const plan::Plan& plan, PreparedRun& run, const RunArgs& args);

}  // namespace rollback::cli
