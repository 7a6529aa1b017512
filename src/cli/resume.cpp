// `rollback resume [RUN_ID]`: continue an interrupted, crashed or failed run from its
// journal (field lesson 8). Steps that finished are not run again; the step that was in
// flight (or failed) runs again only when its action says that is safe, or with --yes. The
// plan is read as it is now (lesson 2), with the same target and --var values; secrets are
// read again, never taken from the journal.
#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_view.hpp>

namespace rollback::cli {
namespace {

int resume(const GlobalOptions& global, const engine::ResumeRequest& request) {
  RunView view(global);
  return run_service(global, view).resume(request);
}

}  // namespace

void add_resume_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("resume", "Continue an interrupted or failed run from its journal");
  auto args = std::make_shared<engine::ResumeRequest>();
  sub->add_option("run_id", args->run_id, "Run id (default: the latest interrupted or failed run)");
  sub->add_flag("--yes", args->yes, "Re-run a step that is not safe to repeat; no confirmation");
  sub->add_flag("--allow-changed-plan", args->allow_changed_plan,
                "Resume although the plan file changed since the run started (the report shows both hashes)");
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return resume(global, *args); };
  });
}

}  // namespace rollback::cli
