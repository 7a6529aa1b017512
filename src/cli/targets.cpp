// `rollback targets PLAN`: what PLAN can restore to, newest first, with age, size and
// whether each verifies, so nobody picks a target by guesswork mid-incident (lesson 4).
#include <cstdio>
#include <fmt/format.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_support.hpp>
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

int list(const GlobalOptions& global, const RunArgs& args) {
  auto loaded = load_plan_or_report(args.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  if (loaded->target.from.empty()) {
    print_error(fmt::format("plan '{}' takes no target (it has no `target:` section)", loaded->name));
    return to_int(ExitCode::Usage);
  }
  plan::Scope scope;
  if (int code = bind_scope(*loaded, args, scope, /*need_secrets=*/false); code != 0) return code;
  auto targets = actions::builtin_registry().targets().list(loaded->target, scope);
  if (!targets) {
    print_error(targets.error().message);
    return to_int(ExitCode::PreflightFailed);
  }
  nlohmann::json out = nlohmann::json::array();
  if (!global.json && !targets->empty())
    std::printf("%-36s %-6s %-9s %-9s %s\n", "TARGET", "AGE", "SIZE", "VERIFIES", "DETAIL");
  for (const auto& t : *targets) {
    auto check = plan::verify_target(loaded->target, t);
    std::string detail = t.current ? "(current) " + t.detail : t.detail;
    if (!check.ok && !check.problems.empty()) detail += (detail.empty() ? "" : "; ") + check.problems.front();
    out.push_back({{"name", t.name}, {"path", t.path}, {"age", human_age(t.created)},
                   {"size_bytes", t.size_bytes ? nlohmann::json(*t.size_bytes) : nlohmann::json()},
                   {"verifies", check.ok}, {"problems", check.problems}, {"current", t.current},
                   {"detail", redact(t.detail)}});
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
