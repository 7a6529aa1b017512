// A run on the terminal (include/rollback/cli/run_view.hpp).
#include <rollback/cli/run_view.hpp>

#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>
#include <iostream>

#include <rollback/cli/target_table.hpp>
#include <rollback/report/report.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::cli {

namespace {

report::ConsoleOptions console_options(const GlobalOptions& global, const std::string& lang) {
  report::ConsoleOptions options;
  options.lang = lang;
  options.quiet = global.quiet;
  options.verbose = global.verbose > 0;
  options.color = report::use_color(global.json ? 2 : 1);
  return options;
}

}  // namespace

RunView::RunView(const GlobalOptions& global, const std::string& lang)
    : global_(global), console_(global.json ? std::cerr : std::cout, console_options(global, lang)), events_(stdout) {}

void RunView::error(std::string_view message) { print_error(std::string(message)); }

void RunView::warn(std::string_view line) { std::fprintf(stderr, "%s\n", redact(line).c_str()); }

void RunView::note(std::string_view line) { console_.note(line); }

void RunView::event(const nlohmann::json& event) {
  if (global_.json) emit_json_line(event);
}

void RunView::progress(engine::ExecuteOptions& options) {
  auto* events = global_.json ? &events_ : nullptr;
  options.on_step_start = [this, events](const engine::StepRecord& s, size_t i, size_t n) {
    console_.step_started(s, i, n);
    if (events) events->step_started(s, i, n);
  };
  options.on_step_end = [this, events](const engine::StepRecord& s, size_t i, size_t n) {
    console_.step_finished(s, i, n);
    if (events) events->step_finished(s, i, n);
  };
  options.on_log = [this](const std::string& step, std::string_view line) { console_.log_line(step, line); };
  options.on_group_start = [this](const std::vector<const engine::StepRecord*>& members, size_t first, size_t size,
                                  size_t n) { console_.group_started(members, first, size, n); };
}

void RunView::log_line(std::string_view step, std::string_view line) { console_.log_line(std::string(step), line); }

bool RunView::interactive() { return ::isatty(STDIN_FILENO); }

bool RunView::confirm(const plan::Plan& plan, const std::optional<plan::Target>& target,
                      const std::string& destructive) {
  std::fprintf(stderr, "\nPlan '%s' will change the system. Destructive steps: %s\n", plan.name.c_str(),
               destructive.c_str());
  if (target) std::fprintf(stderr, "Target: %s (%s)\n", target->name.c_str(), target->path.c_str());
  std::fprintf(stderr, "Type 'yes' to continue: ");
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "yes" || (target && answer == target->name);
}

std::optional<std::string> RunView::pick_target(const plan::Plan& plan, const std::vector<engine::CatalogRow>& rows) {
  auto table = table_rows(plan, rows);
  std::fprintf(stderr, "Plan '%s' needs a target. Targets, newest first:\n\n", plan.name.c_str());
  print_target_table(stderr, table, /*numbered=*/true);
  while (true) {
    std::fprintf(stderr, "\nPick a target by number (1-%zu), or press Enter to stop: ", table.size());
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer) || trim(answer).empty()) {
      print_error("no target picked. Nothing ran.");
      return std::nullopt;
    }
    auto text = std::string(trim(answer));
    size_t number = 0;
    bool numeric = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() < 6;
    if (numeric) number = std::stoul(text);
    if (number < 1 || number > table.size()) {
      std::fprintf(stderr, "'%s' is not a number from the table.\n", redact(text).c_str());
      continue;
    }
    const auto& row = table[number - 1];
    if (!row.check.ok) {
      std::fprintf(stderr, "%s does not verify (%s); pick another.\n", row.target.name.c_str(),
                   redact(row.check.problems.empty() ? "" : row.check.problems.front()).c_str());
      continue;
    }
    std::fprintf(stderr, "Target: %s\n", row.target.name.c_str());
    return row.target.name;
  }
}

void RunView::finished(const engine::RunRecord& record, const std::optional<std::filesystem::path>& report,
                       const nlohmann::json& json_extra) {
  console_.summary(record);
  if (!global_.json) {
    if (report) console_.report_path(*report);
    return;
  }
  // --json: the run's summary, the last of its JSON Lines (the step events went before it).
  nlohmann::json out = {{"event", "run_finished"}};
  out.update(report::render_json(record));
  out["exit_code"] = to_int(record.result);
  out["report_path"] = report ? nlohmann::json(report->string()) : nlohmann::json();
  if (!json_extra.is_null()) out.update(json_extra);
  emit_json_line(out);
}

engine::RunService run_service(const GlobalOptions& global, RunView& view) {
  auto state = state_dir(global);
  return engine::RunService(engine::RunDeps{
      .registry = actions::builtin_registry(),
      .runner = system_runner(),
      .observer = view,
      .write_report = [](const engine::RunRecord& record,
                         const std::filesystem::path& md) { return report::write_report(record, md); },
      .load_plan = [&global](const std::string& plan) { return load_plan_or_report(plan, global); },
      .state_dir = state,
      .host = host_name(),
      .login_name = login_name()});
}

}  // namespace rollback::cli
