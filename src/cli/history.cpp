// `rollback history`: past runs from their journals, newest first.
#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

#include <rollback/cli/commands.hpp>
#include <rollback/engine/state_store.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {

namespace {

std::string result_word(const engine::StoredRun& run) {
  const auto& r = run.record;
  if (run.state == engine::RunState::Running) return "running";
  if (!r.ended) return "killed (no end recorded)";
  switch (r.result) {
    case ExitCode::Success: return "ok";
    case ExitCode::StepFailed: return "failed";
    case ExitCode::PreflightFailed: return "preflight-failed";
    case ExitCode::VerifyFailed: return "verify-failed";
    case ExitCode::Interrupted: return "interrupted";
    default: return fmt::format("exit {}", to_int(r.result));
  }
}

int history(const GlobalOptions& global, int limit) {
  engine::StateStore store(state_dir(global));
  auto listed = store.runs();
  if (!listed) {
    print_error(listed.error().message);
    return to_int(ExitCode::Usage);
  }
  auto& runs = *listed;
  const auto runs_dir = store.runs_dir();
  if (limit > 0 && runs.size() > static_cast<size_t>(limit)) runs.resize(static_cast<size_t>(limit));
  nlohmann::json out = nlohmann::json::array();
  if (!global.json && !runs.empty())
    std::printf("%-40s %-16s %-28s %-16s %-8s %s\n", "RUN", "PLAN", "TARGET", "RESULT", "TIME", "REPORT");
  for (const auto& run : runs) {
    const auto& r = run.record;
    auto report = store.report_of(run);
    std::string report_path = report ? report->string() : "-";
    // One run, both plans when it fell back: "coolify->git-sql".
    std::string plan = r.plan_name;
    nlohmann::json plans = nlohmann::json::array();
    for (const auto& first : r.fell_back_from) {
      plan = first.plan_name + "->" + plan;
      plans.push_back(first.plan_name);
    }
    plans.push_back(r.plan_name);
    if (r.rehearsal) plan += " (rehearsal)";
    auto started = engine::run_began(r);
    std::string duration = r.ended ? format_duration(std::chrono::duration_cast<Millis>(*r.ended - started)) : "-";
    out.push_back({{"run_id", r.run_id}, {"plan", r.plan_name}, {"plans", plans}, {"rehearsal", r.rehearsal},
                   {"target", r.target_name},
                   {"result", result_word(run)}, {"state", std::string(engine::to_string(run.state))},
                   // A run whose end was never recorded has no exit code to report: never 0.
                   {"exit_code", r.ended ? nlohmann::json(to_int(r.result)) : nlohmann::json()},
                   {"started", format_iso_utc(started)}, {"duration", duration}, {"report", report_path}});
    if (!global.json)  // a sink like the others: through redact()
      std::printf("%s", redact(fmt::format("{:<40} {:<16} {:<28} {:<16} {:<8} {}\n", r.run_id, plan,
                                           r.target_name.empty() ? "-" : r.target_name, result_word(run),
                                           duration, report_path))
                            .c_str());
  }
  if (global.json) emit_json(out);
  else if (runs.empty()) std::printf("no runs recorded in %s\n", runs_dir.c_str());
  return to_int(ExitCode::Success);
}

}  // namespace

void add_history_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("history", "Past runs: id, plan, target, result, duration, report");
  auto limit = std::make_shared<int>(20);
  sub->add_option("--limit", *limit, "How many runs to show")->capture_default_str();
  sub->final_callback([&global, &selected, limit] {
    selected = [&global, limit] { return history(global, *limit); };
  });
}

}  // namespace rollback::cli
