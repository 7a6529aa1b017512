// `rollback PLAN` / `rollback run PLAN`: parse, load the plan (and its fallback), hand both to
// the engine's run service (engine/run.hpp), which does the rest.
#include <cstdio>

#include <fmt/format.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_view.hpp>
#include <rollback/plan/fallback.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/redact.hpp>
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
            return engine::parse_since(value, std::chrono::system_clock::now()) ? std::string()
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

std::optional<plan::Plan> load_fallback_or_report(const plan::Plan& plan, const GlobalOptions& global, bool check_trust) {
  const auto& spec = plan.fallback;
  std::vector<std::filesystem::path> search{plan.path.has_parent_path() ? plan.path.parent_path()
                                                                        : std::filesystem::path(".")};
  for (const auto& dir : plan_search_path(global)) search.push_back(dir);
  auto path = plan::find_plan(spec.plan, search);
  if (!path) {
    print_error(fmt::format("{}: fallback.plan: {}", spec.where.str(), path.error().message));
    return std::nullopt;
  }
  if (auto refused = check_trust ? untrusted_input(*path, global, "fallback plan") : ""; !refused.empty()) {
    print_error(fmt::format("{}: fallback.plan: {}", spec.where.str(), refused));
    return std::nullopt;
  }
  auto loaded = plan::load_plan(*path, actions::builtin_registry());
  for (const auto& diagnostic : loaded.diagnostics) std::fprintf(stderr, "%s\n", redact(diagnostic.str()).c_str());
  if (!loaded.plan) {
    print_error(fmt::format("{}: fallback plan '{}' ({}) does not load: {} error(s) above", spec.where.str(), spec.plan,
                            path->string(), loaded.diagnostics.size()));
    return std::nullopt;
  }
  auto problems = plan::check_fallback_pair(plan, *loaded.plan);
  for (const auto& problem : problems) print_error(problem.str());
  if (!problems.empty()) return std::nullopt;
  return std::move(loaded.plan);
}

int run_plan(const GlobalOptions& global, const RunArgs& args) {
  if (!vars_file_trusted(args.vars_file, global)) return to_int(ExitCode::Usage);
  auto loaded = load_plan_or_report(args.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  std::optional<plan::Plan> fallback;
  if (!loaded->fallback.plan.empty()) {
    fallback = load_fallback_or_report(*loaded, global);
    if (!fallback) return to_int(ExitCode::Usage);
  }
  RunView view(global, loaded->report.lang);
  return run_service(global, view).run(*loaded, args, fallback ? &*fallback : nullptr);
}

}  // namespace rollback::cli
