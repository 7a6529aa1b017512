// `rollback backup [PLAN]`: run the backup plan (default `backup`) ahead of a deploy, so the
// next rollback has a verified target.
#include <rollback/cli/commands.hpp>

namespace rollback::cli {

void add_backup_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("backup", "Run a backup plan (default: the plan named `backup`)");
  auto args = std::make_shared<RunArgs>();
  args->plan = "backup";
  sub->add_option("plan", args->plan, "Backup plan name or path")->capture_default_str();
  add_run_options(*sub, *args);
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return run_plan(global, *args); };
  });
}

}  // namespace rollback::cli
