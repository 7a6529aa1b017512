// `rollback targets PLAN`: what PLAN can restore to, newest first, with age, size and
// whether each verifies, so nobody picks a target by guesswork mid-incident (lesson 4).
// For a backup plan with `keep`, it marks what the next successful backup would prune; it
// warns about a target dir (or targets) that group or others can read.
#include <sys/stat.h>

#include <cstdio>
#include <fmt/format.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/cli/retention.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/plan/retention.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {

namespace {

std::string human_size(std::optional<unsigned long long> bytes) {
  return bytes ? rollback::human_size(*bytes) : "-";
}

std::string human_age(engine::SystemTime created) {
  auto age = std::chrono::duration_cast<Millis>(std::chrono::system_clock::now() - created);
  if (created == engine::SystemTime{}) return "-";
  long long s = age.count() / 1000;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

// Backups hold the application's data and credentials: a target dir, or a target in it,
// that group or others can open is worth a warning (a fresh backup is made owner-only).
void warn_about_open_modes(const plan::TargetSpec& spec, const plan::Scope& scope,
                           const std::vector<plan::Target>& targets, std::vector<bool>& private_flags) {
  auto open_to_others = [](const std::string& path) -> std::optional<unsigned> {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return std::nullopt;
    unsigned mode = st.st_mode & 07777;
    return (mode & 077) != 0 ? std::optional(mode) : std::nullopt;
  };
  if (spec.from != "dir") {
    private_flags.assign(targets.size(), true);
    return;
  }
  if (auto dir = plan::interpolate(spec.dir, scope))
    if (auto mode = open_to_others(*dir))
      std::fprintf(stderr,
                   "warning: target dir %s can be read by group/others (mode %04o): backups hold the application's "
                   "data and credentials; `chmod go-rwx %s`\n",
                   dir->c_str(), *mode, dir->c_str());
  std::string open;
  size_t count = 0;
  for (const auto& t : targets) {
    bool is_open = open_to_others(t.path).has_value();
    private_flags.push_back(!is_open);
    if (!is_open) continue;
    if (++count <= 5) open += (open.empty() ? "" : ", ") + t.name;
  }
  if (count > 0)
    std::fprintf(stderr, "warning: %zu target(s) can be read by group/others: %s%s (`chmod -R go-rwx` them)\n",
                 count, open.c_str(), count > 5 ? ", ..." : "");
}

int list(const GlobalOptions& global, const RunArgs& args) {
  auto loaded = load_plan_or_report(args.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  if (loaded->target.from.empty()) {
    print_error(fmt::format("plan '{}' takes no target (it has no `target:` section)", loaded->name));
    return to_int(ExitCode::Usage);
  }
  plan::Scope scope;
  // A backup plan's vars name the folder of the run that would make it (${run.started}).
  scope.set_builtin("run.id", "targets");
  scope.set_builtin("run.started", format_utc(std::chrono::system_clock::now(), kCompactUtc));
  if (int code = bind_scope(*loaded, args, scope, /*need_secrets=*/false); code != 0) return code;
  auto targets = actions::builtin_registry().targets().list(loaded->target, scope);
  if (!targets) {
    print_error(targets.error().message);
    return to_int(ExitCode::PreflightFailed);
  }
  std::vector<plan::Verification> checks;
  for (const auto& t : *targets) checks.push_back(plan::verify_target(loaded->target, t, scope));
  // What the next successful backup would prune (plans with target.keep).
  std::vector<plan::TargetFate> fates;
  const auto& keep = loaded->target.keep;
  if (keep) {
    plan::RetentionRules rules{.keep = *keep, .named_by_runs = targets_named_by_runs(state_dir(global)), .upcoming = 1};
    fates = plan::retention_fates(*targets, rules, [](const plan::Target&) { return false; });
  }
  std::vector<bool> private_flags;
  warn_about_open_modes(loaded->target, scope, *targets, private_flags);

  nlohmann::json out = nlohmann::json::array();
  if (!global.json && !targets->empty())
    std::printf("%-36s %-6s %-9s %-9s %s\n", "TARGET", "AGE", "SIZE", "VERIFIES", "DETAIL");
  for (size_t i = 0; i < targets->size(); ++i) {
    const auto& t = (*targets)[i];
    const auto& check = checks[i];
    std::string detail = t.current ? "(current) " + t.detail : t.detail;
    if (!check.ok && !check.problems.empty()) detail += (detail.empty() ? "" : "; ") + check.problems.front();
    bool prune = !fates.empty() && fates[i].prune;
    // A word, not an optional: g++ 12 warns (wrongly) about an optional enum read here.
    std::string kept_beyond;
    if (!fates.empty() && fates[i].kept_beyond) kept_beyond = plan::to_string(*fates[i].kept_beyond);
    if (prune) detail = fmt::format("PRUNED by the next backup (keep {}){}{}", *keep, detail.empty() ? "" : "; ", detail);
    else if (!kept_beyond.empty())
      detail = fmt::format("kept beyond keep {}: {}{}{}", *keep, kept_beyond, detail.empty() ? "" : "; ", detail);
    out.push_back({{"name", t.name}, {"path", t.path}, {"age", human_age(t.created)},
                   {"size_bytes", t.size_bytes ? nlohmann::json(*t.size_bytes) : nlohmann::json()},
                   {"verifies", check.ok}, {"problems", check.problems}, {"current", t.current},
                   {"detail", redact(t.detail)}, {"pruned_by_next_backup", prune},
                   {"kept_beyond", kept_beyond.empty() ? nlohmann::json() : nlohmann::json(kept_beyond)},
                   {"private", private_flags[i]}});
    if (!global.json)
      std::printf("%-36s %-6s %-9s %-9s %s\n", t.name.c_str(), human_age(t.created).c_str(),
                  human_size(t.size_bytes).c_str(), check.ok ? "yes" : "NO", redact(detail).c_str());
  }
  if (global.json) emit_json(out);
  else if (targets->empty()) std::printf("no targets found for plan '%s'\n", loaded->name.c_str());
  return to_int(ExitCode::Success);
}

}  // namespace

void add_targets_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("targets", "Rollback targets a plan can use, newest first");
  auto args = std::make_shared<RunArgs>();
  sub->add_option("plan", args->plan, "Plan name or path")->required();
  sub->add_option("--var", args->vars, "Override a plan var: KEY=VALUE (repeatable)");
  sub->add_option("--vars", args->vars_file, "Override plan vars from a YAML map file");
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return list(global, *args); };
  });
}

}  // namespace rollback::cli
