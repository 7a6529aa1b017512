// `rollback rehearse PLAN --target T`: prove that T can be restored and passes PLAN's
// verification, without touching production (shared/spec.md). The engine's run service runs
// it (RunService::rehearse, with actions/rehearsal.hpp's throwaway copies); this file parses.
#include <fmt/format.h>

#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_view.hpp>
#include <rollback/util/text.hpp>

namespace rollback::cli {
namespace {

int rehearse(const GlobalOptions& global, const RunArgs& args) {
  if (!vars_file_trusted(args.vars_file, global)) return to_int(ExitCode::Usage);
  auto loaded = load_plan_or_report(args.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  RunView view(global, loaded->report.lang);
  return run_service(global, view).rehearse(*loaded, args);
}

}  // namespace

void add_rehearse_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("rehearse",
                                 "Prove a target restorable: restore it into throwaway copies, run the plan's verify "
                                 "steps against them, remove them (exit 0 proven, 4 unusable, 1/5 failed)");
  auto args = std::make_shared<RunArgs>();
  sub->add_option("plan", args->plan, "Plan name or path")->required();
  sub->add_option("--target", args->target, "Target to rehearse: name, unique prefix, latest, previous")
      ->check(CLI::Validator(
          [](std::string& value) {
            return trim(value).empty() ? std::string("must not be empty (leave --target out for the plan's default)")
                                       : std::string();
          },
          "TARGET"));
  sub->add_option("--var", args->vars, "Override a plan var: KEY=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--vars", args->vars_file, "Override plan vars from a YAML map file");
  sub->add_option("--reason", args->reason, "Why this rehearsal runs (goes into the report)");
  sub->add_option("--operator", args->operator_name, "Who runs it (default: the login name)");
  sub->add_option("--report", args->report, "Where the Markdown report goes (JSON twin beside it)");
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return rehearse(global, *args); };
  });
}

}  // namespace rollback::cli
