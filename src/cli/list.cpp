// `rollback list`: the plans with their description and time budget.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/exit_code.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

int list_plans(const GlobalOptions& global) {
  auto search = plan_search_path(global);
  std::error_code ec;
  if (std::none_of(search.begin(), search.end(), [&](const fs::path& dir) { return fs::is_directory(dir, ec); })) {
    print_error(fmt::format("cannot read plans: no plans dir exists ({}); set --plans-dir or $ROLLBACK_PLANS", plan::search_path_text(search)));
    return to_int(ExitCode::Usage);
  }
  auto files = plan::list_plan_files(search);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& file : files) {
    auto loaded = plan::load_plan(file, actions::builtin_registry());
    std::string name = file.stem().string();
    if (!loaded.plan) {
      out.push_back({{"name", name}, {"file", file.string()}, {"valid", false},
                     {"errors", loaded.diagnostics.size()}});
      if (!global.json)
        std::printf("%-14s  (invalid: %zu error(s); run `rollback validate %s`)\n", name.c_str(),
                    loaded.diagnostics.size(), name.c_str());
      continue;
    }
    const auto& p = *loaded.plan;
    std::string budget = p.budget ? format_duration(*p.budget) : "-";
    out.push_back({{"name", name}, {"file", file.string()}, {"valid", true},
                   {"kind", std::string(plan::to_string(p.kind))}, {"description", p.description},
                   {"budget_ms", p.budget ? p.budget->count() : 0}, {"steps", p.steps.size()}});
    if (!global.json)
      std::printf("%-14s  %-9s  budget %-6s  %s\n", name.c_str(), std::string(plan::to_string(p.kind)).c_str(),
                  budget.c_str(), p.description.c_str());
  }
  if (global.json) emit_json(out);
  else if (files.empty()) {
    std::printf("no plans in %s\n", plan::search_path_text(search).c_str());
  }
  return to_int(ExitCode::Success);
}

}  // namespace

void add_list_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("list", "Plans with their description and time budget");
  sub->final_callback([&global, &selected] { selected = [&global] { return list_plans(global); }; });
}

}  // namespace rollback::cli
