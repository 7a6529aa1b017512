// `rollback targets PLAN`: what PLAN can restore to, newest first, with age, size and
// whether each verifies, so nobody picks a target by guesswork mid-incident (lesson 4).
// Each target is checked as a run would check it: the plan's vars with --var/--vars, run.*
// (the time of the listing) and the target's own ${target.*} bound.
#include <cstdio>
#include <fmt/format.h>

#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/cli/target_table.hpp>
#include <rollback/util/exit_code.hpp>

namespace rollback::cli {

namespace {

int list(const GlobalOptions& global, const RunArgs& args) {
  auto loaded = load_plan_or_report(args.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  if (loaded->target.from.empty()) {
    print_error(fmt::format("plan '{}' takes no target (it has no `target:` section)", loaded->name));
    return to_int(ExitCode::Usage);
  }
  plan::Scope scope;
  auto now = std::chrono::system_clock::now();
  scope.set_builtin("run.id", new_run_id(loaded->name, now));
  scope.set_builtin("run.started", format_utc(now, kCompactUtc));
  if (int code = bind_scope(*loaded, args, scope, /*need_secrets=*/false); code != 0) return code;
  auto overrides = collect_overrides(args);
  auto rows = target_rows(*loaded, scope, overrides.value_or(std::map<std::string, std::string>{}));
  if (!rows) {
    print_error(rows.error().message);
    return to_int(ExitCode::PreflightFailed);
  }
  if (global.json) emit_json(target_rows_json(*rows));
  else if (rows->empty()) std::printf("no targets found for plan '%s'\n", loaded->name.c_str());
  else print_target_table(stdout, *rows, /*numbered=*/false);
  return to_int(ExitCode::Success);
}

}  // namespace

void add_targets_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("targets", "Rollback targets a plan can use, newest first");
  auto args = std::make_shared<RunArgs>();
  sub->add_option("plan", args->plan, "Plan name or path")->required();
  sub->add_option("--var", args->vars, "Override a plan var: KEY=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--vars", args->vars_file, "Override plan vars from a YAML map file");
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return list(global, *args); };
  });
}

}  // namespace rollback::cli
