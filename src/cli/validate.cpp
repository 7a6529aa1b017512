// `rollback validate [FILE|PLAN]...`: every error of every plan as FILE:LINE:COL: message.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/trust.hpp>

#include <unistd.h>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

// One plan's entry for the JSON report; its diagnostics go to stderr in human mode.
nlohmann::json check_plan(const GlobalOptions& global, const fs::path& path, int& errors) {
  auto loaded = plan::load_plan(path, actions::builtin_registry());
  nlohmann::json entry = {{"file", path.string()}, {"ok", loaded.plan.has_value()}, {"errors", nlohmann::json::array()}};
  for (const auto& d : loaded.diagnostics) {
    if (!global.json) std::fprintf(stderr, "%s\n", redact(d.str()).c_str());
    entry["errors"].push_back({{"file", d.where.file}, {"line", d.where.line}, {"column", d.where.column},
                               {"message", redact(d.message)}});
  }
  errors += static_cast<int>(loaded.diagnostics.size());
  // Valid, but a run would refuse it as it lies (another user could have planted it).
  if (auto why = untrusted_reason(path, ::geteuid()); !why.empty()) {
    auto warning = fmt::format("warning: {}: a run would refuse this plan file: {}", path.string(), why);
    if (!global.json) std::fprintf(stderr, "%s\n", warning.c_str());
    entry["warnings"] = nlohmann::json::array({warning});
  }
  // The fallback it names must load too, and the two must fit (no chains; criterion vars).
  size_t said = printed_errors().size();
  if (loaded.plan && !loaded.plan->fallback.plan.empty() && !load_fallback_or_report(*loaded.plan, global, /*check_trust=*/false)) {
    entry["ok"] = false;
    for (size_t i = said; i < printed_errors().size(); ++i) entry["errors"].push_back({{"message", printed_errors()[i]}});
    ++errors;
    return entry;
  }
  if (!global.json && loaded.plan && global.verbosity() >= 0)
    std::printf("%s: ok (%zu steps)\n", path.c_str(), loaded.plan->steps.size());
  return entry;
}

int validate(const GlobalOptions& global, const std::vector<std::string>& names) {
  int errors = 0;
  nlohmann::json report = nlohmann::json::array();
  if (names.empty()) {
    auto search = plan_search_path(global);
    auto paths = plan::list_plan_files(search);
    if (paths.empty()) {
      print_error(fmt::format("no plans found in {}", plan::search_path_text(search)));
      return to_int(ExitCode::Usage);
    }
    for (const auto& path : paths) report.push_back(check_plan(global, path, errors));
  }
  // In the order given; an input that is no plan is an entry too: a CI reading the JSON
  // must see that it failed.
  for (const auto& name : names) {
    auto path = plan::find_plan(name, plan_search_path(global));
    if (path) {
      report.push_back(check_plan(global, *path, errors));
      continue;
    }
    if (!global.json) print_error(path.error().message);
    report.push_back({{"file", name}, {"ok", false},
                      {"errors", {{{"file", name}, {"line", 0}, {"column", 0}, {"message", path.error().message}}}}});
    ++errors;
  }
  if (global.json) emit_json(report);
  else std::printf("%zu plan(s) checked, %d error(s)\n", report.size(), errors);
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
