// `rollback PLAN` / `rollback run PLAN`: resolve, lock, preflight, confirm, execute, report.
// Nothing destructive happens before the target is resolved and verified and every step's
// preflight has passed (field lessons 4 and 5).
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <random>
#include <unistd.h>

#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/engine/executor.hpp>
#include <rollback/engine/lock.hpp>
#include <rollback/engine/signals.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/report/console.hpp>
#include <rollback/report/report.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

void add_run_options(CLI::App& app, RunArgs& args) {
  app.add_option("--target", args.target, "Rollback target: name, unique prefix, latest, previous");
  app.add_flag("--dry-run", args.dry_run, "Resolve and preflight, print the steps, change nothing");
  app.add_flag("--yes", args.yes, "Do not ask for confirmation of destructive steps");
  app.add_option("--var", args.vars, "Override a plan var: KEY=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--vars", args.vars_file, "Override plan vars from a YAML map file");
  app.add_option("--reason", args.reason, "Why this rollback runs (goes into the report)");
  app.add_option("--operator", args.operator_name, "Who runs it (default: the login name)");
  app.add_option("--report", args.report, "Where the Markdown report goes (JSON twin beside it)");
}

void add_run_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("run", "Run a plan (same as `rollback PLAN`)");
  auto args = std::make_shared<RunArgs>();
  sub->add_option("plan", args->plan, "Plan name or path")->required();
  add_run_options(*sub, *args);
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return run_plan(global, *args); };
  });
}

int run_plan(const GlobalOptions& global, const RunArgs& args) {
  auto loaded = load_plan_or_report(args.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  const plan::Plan& plan = *loaded;

  PreparedRun run;
  if (int code = prepare_run(plan, args, global, run); code != 0) return code;

  bool needs_confirmation = !args.dry_run && !args.yes && plan.has_destructive_steps();
  if (needs_confirmation && !::isatty(STDIN_FILENO)) {
    print_error(fmt::format(
        "plan '{}' has destructive steps ({}) and stdin is not a terminal; pass --yes to run "
        "it unattended. Nothing ran.",
        plan.name, destructive_step_ids(plan)));
    return to_int(ExitCode::Usage);
  }

  // A dry run changes nothing, so it takes no lock and writes no state.
  engine::RunLock lock;
  if (!args.dry_run) {
    auto taken = take_run_lock(global, run.record);
    if (!taken) return to_int(ExitCode::Locked);
    lock = std::move(*taken);
  }

  engine::SignalGuard signals;
  proc::SystemRunner runner;
  engine::Executor executor(actions::builtin_registry(), runner);
  report::ConsoleProgress console(global.json ? std::cerr : std::cout, console_options(global));

  std::optional<engine::Journal> journal;
  if (!args.dry_run) journal.emplace(run.run_dir / "journal.jsonl");
  engine::Journal* journal_ptr = journal ? &*journal : nullptr;

  auto failures = executor.preflight(plan, run.scope);
  if (!failures.empty()) {
    print_error(fmt::format("preflight failed; nothing was changed:"));
    for (const auto& failure : failures) std::fprintf(stderr, "  - %s\n", redact(failure).c_str());
    return finish_unexecuted(run, journal_ptr, ExitCode::PreflightFailed,
                             fmt::format("preflight failed ({} problem(s)): {}; nothing was changed",
                                         failures.size(), failures.front()),
                             args, global, console);
  }

  if (needs_confirmation && !confirm_on_terminal(plan, run)) {
    return finish_unexecuted(run, journal_ptr, ExitCode::Usage,
                             "not confirmed at the terminal; nothing was changed", args, global, console);
  }

  engine::ExecuteOptions options;
  options.dry_run = args.dry_run;
  options.on_step_start = [&](const engine::StepRecord& s, size_t i, size_t n) { console.step_started(s, i, n); };
  options.on_step_end = [&](const engine::StepRecord& s, size_t i, size_t n) { console.step_finished(s, i, n); };
  options.on_log = [&](const std::string& step, std::string_view line) { console.log_line(step, line); };
  auto code = executor.execute(plan, run.scope, run.record, journal_ptr, options);
  return finish_run(run, journal_ptr, code, args, global, console);
}

}  // namespace rollback::cli
