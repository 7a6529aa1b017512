// `rollback PLAN` / `rollback run PLAN`: load the plan, bind its vars, resolve and verify the
// target, then the run pipeline (cli/pipeline.hpp): lock, preflight, confirm, execute, report.
// Nothing destructive happens before the target is resolved and verified and every step's
// preflight has passed (field lessons 4 and 5).
#include <cstdio>

#include <rollback/cli/commands.hpp>
#include <rollback/cli/fallback.hpp>
#include <rollback/cli/incident.hpp>
#include <rollback/cli/pipeline.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/util/text.hpp>

namespace rollback::cli {

void add_run_options(CLI::App& app, RunArgs& args) {
  // An empty --target is a mistake (an unset shell variable), never "the plan's default".
  app.add_option("--target", args.target, "Rollback target: name, unique prefix, latest, previous")
      ->check(CLI::Validator(
          [](std::string& value) {
            return trim(value).empty() ? std::string("must not be empty (leave --target out for the plan's default)")
                                       : std::string();
          },
          "TARGET"));
  app.add_flag("--dry-run", args.dry_run, "Resolve and preflight, print the steps, change nothing");
  app.add_flag("--yes", args.yes, "Do not ask for confirmation of destructive steps");
  app.add_option("--var", args.vars, "Override a plan var: KEY=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--vars", args.vars_file, "Override plan vars from a YAML map file");
  app.add_option("--reason", args.reason, "Why this rollback runs (goes into the report)");
  app.add_option("--operator", args.operator_name, "Who runs it (default: the login name)");
  app.add_option("--report", args.report, "Where the Markdown report goes (JSON twin beside it)");
  app.add_option("--since", args.since,
                 "When the failure began (2025-01-27T17:40:00Z, or 30m ago): the report's incident log, with the "
                 "application's logs from then")
      ->check(CLI::Validator(
          [](std::string& value) {
            return parse_since(value, std::chrono::system_clock::now()) ? std::string()
                                                                        : std::string("expected an ISO-8601 UTC "
                                                                                      "time or a duration such as 30m");
          },
          "TIME"));
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
  RunArgs own = args;  // a dry run of a plan with a fallback: the vars it declares
  if (!loaded->fallback.plan.empty()) {
    auto fallback = load_fallback_or_report(*loaded, global);
    if (!fallback) return to_int(ExitCode::Usage);
    if (!args.dry_run) return run_with_fallback(global, args, *loaded, *fallback);
    auto taken = args_for_plan(*loaded, args, *fallback);
    if (!taken) return to_int(ExitCode::Usage);
    own = *taken;
    if (!global.quiet) std::fprintf(global.json ? stderr : stdout, "%s\n", describe_fallback(*loaded).c_str());
  }
  PreparedRun run;
  run.notify = {{loaded->notify, std::nullopt}};
  int prepared = prepare_run(*loaded, own, global, run);
  if (prepared == 0 || prepared == to_int(ExitCode::PreflightFailed)) note_incident(*loaded, run, own);
  if (prepared != 0) {
    if (prepared == to_int(ExitCode::PreflightFailed)) notify_unstarted(run);
    return prepared;
  }
  RunRequest request{.plan = *loaded, .run = run, .args = own, .global = global};
  return run_pipeline(request);
}

}  // namespace rollback::cli
