// A plan's `fallback:` (shared/spec.md): when the plan stops before changing anything
// (`preflight`, exit 4) or fails where the failure left things as they were (`failed`, exit
// 1), the fallback plan runs in the same run: one lock, one run id and folder, one journal,
// one report, the fallback's exit code.
#pragma once

#include <optional>
#include <string>

#include <rollback/cli/commands.hpp>
#include <rollback/engine/run_record.hpp>
#include <rollback/plan/plan.hpp>

namespace rollback::cli {

// Finds (beside the plan's own file first, then on the plan search path) and loads the
// fallback of `plan`, and checks the pair (plan/fallback.hpp). Prints every problem, located
// in the plan that names the fallback. nullopt = exit 2.
std::optional<plan::Plan> load_fallback_or_report(const plan::Plan& plan, const GlobalOptions& global);

// Why `plan`, having stopped with `record`'s result, hands over to its fallback; "" when it
// does not. When `failed` is asked for but cannot hold at run time (a step that changed
// things had completed), says so in the record's result message.
std::string fallback_reason(const plan::Plan& plan, engine::RunRecord& record);

// Runs `first` and, when fallback_reason says so, `second` in the same run.
int run_with_fallback(const GlobalOptions& global, const RunArgs& args, const plan::Plan& first,
                      const plan::Plan& second);

// The run's args for one plan of a fallback pair: of the --var/--vars values, those it
// declares (a name neither plan declares is an error, printed; nullopt = exit 2).
std::optional<RunArgs> args_for_plan(const plan::Plan& plan, const RunArgs& args, const plan::Plan& other);

// For --dry-run: the line that says when the fallback would run.
std::string describe_fallback(const plan::Plan& plan);

}  // namespace rollback::cli
