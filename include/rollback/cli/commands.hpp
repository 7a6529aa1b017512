// One function per subcommand file: it adds its CLI11 subcommand and, when chosen, stores
// the work to do in `selected` (run after parsing, so --help and parse errors never touch
// a lock, the state dir or anything else: field lesson 4).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <rollback/cli/common.hpp>
#include <rollback/engine/run.hpp>

namespace rollback::cli {

using Selected = std::function<int()>;

// A run's flags are the engine's request, as they are.
using RunArgs = engine::RunRequest;


// The options shared by `rollback PLAN`, `rollback run PLAN` and `rollback backup`.
void add_run_options(CLI::App& app, RunArgs& args);
// Runs a plan per the spec; returns the exit code.
int run_plan(const GlobalOptions& global, const RunArgs& args);
// Finds (beside the plan's own file first, then on the plan search path) and loads the
// fallback of `plan`, and checks the pair and (check_trust) that nobody else could have
// planted it (`validate` only warns). Prints every problem; nullopt = exit 2.
std::optional<plan::Plan> load_fallback_or_report(const plan::Plan& plan, const GlobalOptions& global,
                                                  bool check_trust = true);

void add_run_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_backup_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_validate_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_list_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_targets_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_rehearse_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_resume_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_check_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_watch_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_history_command(CLI::App& app, GlobalOptions& global, Selected& selected);
void add_version_command(CLI::App& app, GlobalOptions& global, Selected& selected);
// `rollback version` and `rollback --version`: version, commit, library versions; returns 0.
int print_version(const GlobalOptions& global);
void add_schema_command(CLI::App& app, GlobalOptions& global, Selected& selected);

}  // namespace rollback::cli
