// `rollback targets PLAN`: what PLAN can restore to, newest first, with age, size and
// whether each verifies, so nobody picks a target by guesswork mid-incident (lesson 4).
// Each target is checked as a run would check it: the plan's vars with --var/--vars, run.*
// (the time of the listing) and the target's own ${target.*} bound. For a backup plan with
// `keep`, it marks what the next successful backup would prune; it warns about a target dir
// (or targets) that group or others can read.
#include <sys/stat.h>

#include <cstdio>
#include <fmt/format.h>

#include <rollback/cli/commands.hpp>
#include <rollback/engine/state_store.hpp>
#include <rollback/engine/run.hpp>
#include <rollback/cli/target_table.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {

namespace {

// Backups hold the application's data and credentials: a target dir, or a target in it,
// that group or others can open is worth a warning (a fresh backup is made owner-only).
void warn_about_open_modes(const plan::TargetSpec& spec, const plan::Scope& scope, std::vector<TargetRow>& rows) {
  auto open_to_others = [](const std::string& path) -> std::optional<unsigned> {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return std::nullopt;
    unsigned mode = st.st_mode & 07777;
    return (mode & 077) != 0 ? std::optional(mode) : std::nullopt;
  };
  if (spec.from != "dir") return;
  if (auto dir = plan::interpolate(spec.dir, scope))
    if (auto mode = open_to_others(*dir))
      std::fprintf(stderr,
                   "warning: target dir %s can be read by group/others (mode %04o): backups hold the application's "
                   "data and credentials; `chmod go-rwx %s`\n",
                   dir->c_str(), *mode, dir->c_str());
  std::string open;
  size_t count = 0;
  for (auto& row : rows) {
    row.is_private = !open_to_others(row.target.path).has_value();
    if (row.is_private) continue;
    if (++count <= 5) open += (open.empty() ? "" : ", ") + row.target.name;
  }
  if (count > 0)
    std::fprintf(stderr, "warning: %zu target(s) can be read by group/others: %s%s (`chmod -R go-rwx` them)\n", count,
                 open.c_str(), count > 5 ? ", ..." : "");
}

// "No targets" says where it looked: an emergency plan that finds nothing usually looks for
// a folder nobody has made yet (emergency-stable), not in the wrong place.
std::string no_targets_message(const plan::Plan& plan, const plan::Scope& scope) {
  std::string where;
  if (plan.target.from == "dir") {
    auto dir = plan::interpolate(plan.target.dir, scope);
    where = fmt::format(" in {} matching {}", dir ? *dir : plan.target.dir, plan.target.glob);
  }
  return fmt::format("no targets found for plan '{}'{}", plan.name, where);
}

int list(const GlobalOptions& global, const RunArgs& args) {
  if (!vars_file_trusted(args.vars_file, global)) return to_int(ExitCode::Usage);
  auto loaded = load_plan_or_report(args.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  if (loaded->target.from.empty()) {
    print_error(fmt::format("plan '{}' takes no target (it has no `target:` section)", loaded->name));
    return to_int(ExitCode::Usage);
  }
  plan::Scope scope;
  // A backup plan's vars name the folder of the run that would make it (${run.started}).
  auto now = std::chrono::system_clock::now();
  scope.set_builtin("run.id", engine::new_run_id(loaded->name, now));
  scope.set_builtin("run.started", format_utc(now, kCompactUtc));
  // The off-host copies are listed with the remote's credentials, when the plan takes them
  // from its secrets; no other secret is needed to list targets.
  bool offsite_secrets = loaded->offsite.remote.find("${secrets.") != std::string::npos;
  for (const auto& [name, value] : loaded->offsite.env)
    offsite_secrets |= value.find("${secrets.") != std::string::npos;
  if (auto bound = engine::bind_request(*loaded, args, scope, offsite_secrets); !bound) {
    print_error(bound.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }
  auto overrides = engine::request_overrides(args);
  std::set<std::string> needed;
  if (loaded->target.keep) {
    auto runs_need = engine::StateStore(state_dir(global)).targets_needed();
    if (!runs_need) {
      print_error(runs_need.error().message);
      return to_int(ExitCode::Usage);
    }
    needed = std::move(*runs_need);
  }
  std::string offsite_problem;
  auto rows = target_rows(*loaded, scope, overrides.value_or(std::map<std::string, std::string>{}), needed,
                          &offsite_problem);
  if (!rows) {
    print_error(rows.error().message);
    return to_int(ExitCode::PreflightFailed);
  }
  // The local targets still list; what the remote holds is unknown, and said so.
  if (!offsite_problem.empty())
    std::fprintf(stderr, "warning: %s\n",
                 redact(fmt::format("the off-host copies ({}) could not be listed: {}", loaded->offsite.remote,
                                    offsite_problem))
                     .c_str());
  warn_about_open_modes(loaded->target, scope, *rows);
  if (global.json) emit_json(target_rows_json(*rows));
  else if (rows->empty()) std::printf("%s\n", no_targets_message(*loaded, scope).c_str());
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
