// A run's last stage (src/engine/run_session.hpp): the plan-level notifications, the report,
// the final line. The outcome and the failing step are the executor's (RunRecord): nothing
// here recomputes them.
#include "run_session.hpp"

#include <fmt/format.h>

#include <rollback/engine/notify_list.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine::detail {
namespace fs = std::filesystem;

namespace {

// Each notification of the plan-level list: a webhook or relay down in the same incident
// must not hold the run's end for long.
constexpr Millis kNotifyTimeout{15'000};

fs::path report_path_of(const fs::path& run_dir, const RunRequest& args) {
  return args.report.empty() ? run_dir / "report.md" : fs::path(args.report);
}

// A run whose record could not be kept must not look like a clean success: the journal is
// what `history` and `resume` read, the report what the incident review reads.
void account_for_record(const RunDeps& deps, RunRecord& record, const Journal* journal) {
  if (!journal || journal->lost().empty()) return;
  std::string missing = fmt::format("its journal {} is missing {} event(s) ({})", journal->file().string(),
                                    journal->lost_events(), journal->lost());
  deps.observer.error("the run's record is incomplete: " + missing);
  record.result_message += "; but " + missing;
  if (record.result == ExitCode::Success) record.result = ExitCode::StepFailed;
}

// The outcome as ${run.*} for the notify lists, which run once the result is known.
plan::Scope outcome_scope(plan::Scope scope, const RunRecord& record, const std::string& report) {
  std::string plans = record.plan_name;
  for (const auto& first : record.fell_back_from) plans = first.plan_name + " -> " + plans;
  scope.set_builtin("run.exit_code", std::to_string(to_int(record.result)));
  scope.set_builtin("run.result", std::string(result_word(record.result)));
  scope.set_builtin("run.plans", plans);
  scope.set_builtin("run.target", record.target_name);
  scope.set_builtin("run.report", report);
  scope.set_builtin("run.summary", redact(fmt::format("rollback {} on {}: {} (exit {}): {}{}", plans, record.host,
                                                      result_word(record.result), to_int(record.result),
                                                      record.result_message,
                                                      report.empty() ? "" : "; report: " + report)));
  return scope;
}

void send_notify_lists(const RunDeps& deps, PreparedRun& run, Journal* journal, const std::string& report) {
  if (run.record.dry_run || run.record.rehearsal) return;
  std::set<std::string> sent_once;  // a pair of plans sharing one webhook tells it once
  for (const auto& list : run.notify) {
    if (list.calls.empty()) continue;
    auto scope = outcome_scope(list.scope.value_or(run.scope), run.record, report);
    size_t before = run.record.notifications.size();
    for (auto& sent : send_notifications(deps.registry, deps.runner, list.calls, scope, kNotifyTimeout, sent_once)) {
      sent.id = fmt::format("notify-{}", ++before);
      run.record.notifications.push_back(std::move(sent));
      if (journal) {
        auto event = step_to_json(run.record.notifications.back());
        event["event"] = "notified";
        event["step"] = run.record.notifications.back().id;
        (void)journal->append(std::move(event));
      }
    }
  }
}

}  // namespace

fs::path report_reserve(const fs::path& run_dir) { return run_dir / ".report-reserve"; }
std::uint64_t report_reserve_bytes(size_t steps) { return (256u << 10) + steps * (48u << 10); }

int conclude_run(const RunDeps& deps, PreparedRun& run, Journal* journal, const RunRequest& args) {
  auto& record = run.record;
  account_for_record(deps, record, journal);
  // After a fallback the first plan's failure leads the one-line result everywhere.
  if (auto lead = fallback_lead(record); !lead.empty() && !record.result_message.starts_with(lead))
    record.result_message = lead + record.result_message;
  const bool writes_report = !record.dry_run || !args.report.empty();
  send_notify_lists(deps, run, journal, writes_report ? report_path_of(run.run_dir, args).string() : "");
  for (const auto& sent : record.notifications) deps.observer.note(fmt::format("{}: {}", sent.action, sent.message));
  std::optional<fs::path> report_path;
  if (writes_report) {
    // The space held for the report since the run started is what it is written into.
    std::error_code ec;
    fs::remove(report_reserve(run.run_dir), ec);
    auto md = report_path_of(run.run_dir, args);
    auto written = deps.write_report(record, md);
    if (written) {
      report_path = *written;
    } else {
      deps.observer.error(fmt::format("cannot write the report: {} (report {}); the journal {} holds the run's record",
                                      written.error().message, md.string(),
                                      journal ? journal->file().string() : "(none)"));
      if (record.result == ExitCode::Success) record.result = ExitCode::StepFailed;
    }
  }
  if (journal && report_path) (void)journal->append({{"event", "report_written"}, {"path", report_path->string()}});
  deps.observer.finished(record, report_path, args.json_extra);
  return to_int(record.result);
}

void notify_unstarted(const RunDeps& deps, PreparedRun& run) {
  send_notify_lists(deps, run, nullptr, "");
  for (const auto& sent : run.record.notifications) deps.observer.warn(fmt::format("{}: {}", sent.action, sent.message));
}

int finish_unexecuted(const RunDeps& deps, PreparedRun& run, Journal* journal, ExitCode code,
                      const std::string& message, const RunRequest& args, bool resumed) {
  record_unexecuted(run, journal, code, message, resumed);
  return conclude_run(deps, run, journal, args);
}

void record_unexecuted(PreparedRun& run, Journal* journal, ExitCode code, const std::string& message, bool resumed) {
  auto& record = run.record;
  record.result = code;
  record.result_message = redact(message);
  record.ended = std::chrono::system_clock::now();
  for (const auto& [k, v] : run.scope.vars()) record.vars[k] = redact(v);
  if (record.to_version.empty()) record.to_version = record.target_name;
  if (journal) {
    auto started = run_started_event(record);
    if (resumed) started["resumed"] = true;  // the earlier attempts' record stays whole
    (void)journal->append(std::move(started));
    (void)journal->append(run_finished_event(record));
  }
}

}  // namespace rollback::engine::detail
