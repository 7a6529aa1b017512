// `rollback resume [RUN_ID]`: continue an interrupted, crashed or failed run from its
// journal (field lesson 8). Steps that finished are not run again; the step that was in
// flight (or failed) runs again only when its action says that is safe, or with --yes. The
// plan is read as it is now (lesson 2), with the same target and --var values; secrets are
// read again, never taken from the journal.
#include <cstdio>
#include <fmt/format.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/cli/pipeline.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

struct ResumeArgs {
  std::string run_id;
  bool yes = false;
  bool allow_changed_plan = false;
};

// A plan edited since the run started would run steps the interrupted run never planned
// (and skip ones it did): refused unless the operator says so after reading the change.
bool same_plan_or_allowed(const engine::RunRecord& previous, const plan::Plan& plan, const ResumeArgs& a) {
  if (previous.plan_sha256.empty() || previous.plan_sha256 == plan.sha256 || a.allow_changed_plan) return true;
  print_error(fmt::format("the plan file {} changed since run {} started (sha256 {} then, {} now); resuming would "
                          "run steps the interrupted run never planned. Compare it with what the run did (`rollback "
                          "history`, its journal), then `rollback resume {} --allow-changed-plan`. Nothing ran.",
                          plan.path.string(), previous.run_id, previous.plan_sha256.substr(0, 12),
                          plan.sha256.substr(0, 12), previous.run_id));
  return false;
}

bool resumable(const engine::RunRecord& r) {
  if (r.dry_run || r.rehearsal) return false;  // a rehearsal is run again, not resumed
  if (!r.ended) return true;  // crashed: no run_finished
  return r.result == ExitCode::Interrupted || r.result == ExitCode::StepFailed;
}

std::optional<std::string> latest_resumable(const fs::path& runs_dir) {
  std::optional<engine::RunRecord> best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runs_dir, ec)) {
    auto record = engine::read_journal(entry.path() / "journal.jsonl");
    if (!record || !resumable(*record)) continue;
    if (!best || record->started > best->started) best = std::move(*record);
  }
  if (!best) return std::nullopt;
  return best->run_id;
}

int resume(const GlobalOptions& global, const ResumeArgs& a) {
  auto runs_dir = state_dir(global) / "runs";
  std::string id = a.run_id;
  if (id.empty()) {
    auto found = latest_resumable(runs_dir);
    if (!found) {
      print_error(fmt::format("no interrupted or failed run to resume in {}", runs_dir.string()));
      return to_int(ExitCode::Usage);
    }
    id = *found;
  }
  auto journal_path = runs_dir / id / "journal.jsonl";
  auto previous = engine::read_journal(journal_path);
  if (!previous) {
    print_error(fmt::format("run {}: {} (see `rollback history`)", id, previous.error().message));
    return to_int(ExitCode::Usage);
  }
  if (!resumable(*previous)) {
    print_error(fmt::format("run {} ended with exit {} ({}); there is nothing to resume", id,
                            to_int(previous->result), previous->result_message));
    return to_int(ExitCode::Usage);
  }
  auto loaded = load_plan_or_report(previous->plan_path, global);
  if (!loaded) return to_int(ExitCode::Usage);
  const plan::Plan& plan = *loaded;
  if (!same_plan_or_allowed(*previous, plan, a)) return to_int(ExitCode::Usage);

  RunArgs args;
  args.plan = previous->plan_path;
  args.target = previous->target_name;
  args.yes = a.yes;
  args.unattended = previous->unattended;
  if (auto it = previous->extra.find("overrides"); it != previous->extra.end() && it->is_object())
    for (const auto& [k, v] : it->items()) args.vars.push_back(k + "=" + v.get<std::string>());

  PreparedRun run;
  run.record = *previous;
  run.record.ended.reset();
  run.run_dir = runs_dir / id;
  if (int code = bind_and_resolve_target(plan, args, run); code != 0) return code;
  // Values earlier steps set with `into:`. One that held a secret was redacted in the
  // journal: it stays unset, so a step that uses it fails naming the variable rather than
  // running with "***".
  for (const auto& [k, v] : previous->vars) {
    if (run.scope.lookup(k)) continue;
    if (v.find(kRedacted) != std::string::npos)
      std::fprintf(stderr, "warning: ${%s} held a secret and is not restored from the journal\n", k.c_str());
    else
      run.scope.set_var(k, v);
  }

  RunRequest request{.plan = plan, .run = run, .args = args, .global = global, .resuming = true};
  std::vector<std::string> rerun;
  for (const auto& step : plan.steps) {
    auto it = std::find_if(previous->steps.begin(), previous->steps.end(),
                           [&](const auto& s) { return s.id == step.id; });
    if (it == previous->steps.end()) continue;
    if (it->status == engine::StepStatus::Ok || it->status == engine::StepStatus::Skipped) {
      request.completed_steps.insert(step.id);
      continue;
    }
    if (it->status == engine::StepStatus::Pending) continue;
    const auto* action = actions::builtin_registry().find(step.action);
    if (action && !action->rerun_safe && !action->reads_only(step.with)) rerun.push_back(step.id + " (" + step.action + ")");
  }
  if (!rerun.empty() && !a.yes) {
    std::string list;
    for (const auto& r : rerun) list += (list.empty() ? "" : ", ") + r;
    print_error(fmt::format("step {} was in flight or failed and is not safe to run again "
                            "automatically; check what it left, then `rollback resume {} --yes`. "
                            "Nothing ran.", list, id));
    return to_int(ExitCode::Usage);
  }
  return run_pipeline(request);
}

}  // namespace

void add_resume_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("resume", "Continue an interrupted or failed run from its journal");
  auto args = std::make_shared<ResumeArgs>();
  sub->add_option("run_id", args->run_id, "Run id (default: the latest interrupted or failed run)");
  sub->add_flag("--yes", args->yes, "Re-run a step that is not safe to repeat; no confirmation");
  sub->add_flag("--allow-changed-plan", args->allow_changed_plan,
                "Resume although the plan file changed since the run started (the report shows both hashes)");
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return resume(global, *args); };
  });
}

}  // namespace rollback::cli
