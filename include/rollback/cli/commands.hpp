// One function per subcommand file: it adds its CLI11 subcommand and, when chosen, stores
// the work to do in `selected` (run after parsing, so --help and parse errors never touch
// a lock, the state dir or anything else: field lesson 4).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <rollback/cli/common.hpp>

namespace rollback::cli {

using Selected = std::function<int()>;

struct RunArgs {
  std::string plan;
  std::string target;
  bool dry_run = false;
  bool yes = false;
  std::vector<std::string> vars;   // KEY=VALUE
  std::string vars_file;
  std::string reason;
  std::string operator_name;
  std::string report;
  // Set by `check --auto`, which takes the lock itself before deciding to run (so 20 cron
  // invocations can never start two rollbacks) and names the run before it starts.
  bool lock_held = false;
  std::string run_id;
  // Started by `check --auto`: ${run.attended} is "" instead of "yes".
  bool unattended = false;
  // `--since TIME`: when the failure began, for the report's incident log (cli/incident.hpp).
  std::string since;
  // The incident log so far (check --auto: its criteria; --since: the time), report.json's
  // "incident"; null when the run has none.
  nlohmann::json incident;
  // Fields `check --auto` adds to the run's JSON result (its criteria), so that under
  // --json the pair prints one document.
  nlohmann::json json_extra;
};

// The options shared by `rollback PLAN`, `rollback run PLAN` and `rollback backup`.
void add_run_options(CLI::App& app, RunArgs& args);
// Runs a plan per the spec; returns the exit code.
int run_plan(const GlobalOptions& global, const RunArgs& args);

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
