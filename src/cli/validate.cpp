// `rollback validate [FILE|PLAN]...`: every error of every plan as FILE:LINE:COL: message.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> all_plans(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

int validate(const GlobalOptions& global, const std::vector<std::string>& names) {
  std::vector<fs::path> paths;
  int errors = 0;
  if (names.empty()) {
    paths = all_plans(plans_dir(global));
    if (paths.empty()) {
      print_error(fmt::format("no plans found in {}", plans_dir(global).string()));
      return to_int(ExitCode::Usage);
    }
  }
  for (const auto& name : names) {
    auto path = plan::find_plan(name, plans_dir(global));
    if (!path) {
      print_error(path.error().message);
      ++errors;
      continue;
    }
    paths.push_back(*path);
  }
  nlohmann::json report = nlohmann::json::array();
  for (const auto& path : paths) {
    auto loaded = plan::load_plan(path, actions::builtin_registry());
    nlohmann::json entry = {{"file", path.string()}, {"ok", loaded.plan.has_value()}, {"errors", nlohmann::json::array()}};
    for (const auto& d : loaded.diagnostics) {
      auto text = redact(d.str());
      if (!global.json) std::fprintf(stderr, "%s\n", text.c_str());
      entry["errors"].push_back({{"file", d.where.file}, {"line", d.where.line},
                                 {"column", d.where.column}, {"message", redact(d.message)}});
    }
    errors += static_cast<int>(loaded.diagnostics.size());
    if (!global.json && loaded.plan && global.verbosity() >= 0)
      std::printf("%s: ok (%zu steps)\n", path.c_str(), loaded.plan->steps.size());
    report.push_back(std::move(entry));
  }
  if (global.json) std::printf("%s\n", report.dump(2).c_str());
  else std::printf("%zu plan(s) checked, %d error(s)\n", paths.size(), errors);
  return errors == 0 ? to_int(ExitCode::Success) : to_int(ExitCode::Usage);
}

}  // namespace

void add_validate_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("validate", "Check plans; every error as FILE:LINE:COL: message");
  auto names = std::make_shared<std::vector<std::string>>();
  sub->add_option("plans", *names, "Plan names or files (default: every plan in the plans dir)");
  sub->final_callback([&global, &selected, names] {
    selected = [&global, names] { return validate(global, *names); };
  });
}

}  // namespace rollback::cli
