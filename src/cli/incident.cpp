#include <rollback/cli/incident.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/engine/app_logs.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::cli {

std::optional<SystemTime> parse_since(std::string_view text, SystemTime now) {
  if (auto at = parse_iso_utc(text)) return at;
  if (auto ago = parse_duration(text)) return now - *ago;
  return std::nullopt;
}

namespace {

void add_app_logs(nlohmann::json& incident, const plan::Plan& plan, const plan::Scope& scope, SystemTime since) {
  proc::SystemRunner runner;
  auto from = since - std::chrono::minutes(1);
  auto logs = engine::collect_app_logs(actions::builtin_registry(), runner, plan, scope, from, Millis(60'000));
  incident["logs"] = {{"since", format_iso_utc(from)},
                      {"source", logs.source},
                      {"excerpt", logs.excerpt},
                      {"problem", logs.problem}};
}

}  // namespace

void note_incident(const plan::Plan& plan, PreparedRun& run, const RunArgs& args) {
  nlohmann::json incident = args.incident;
  auto now = std::chrono::system_clock::now();
  if (incident.is_null() && !args.since.empty())
    if (auto since = parse_since(args.since, now)) incident = {{"began", format_iso_utc(*since)}, {"given", "--since"}};
  if (incident.is_null()) return;
  auto began = parse_iso_utc(incident.value("began", ""));
  if (!incident.contains("logs")) add_app_logs(incident, plan, run.scope, began.value_or(now - std::chrono::minutes(30)));
  run.record.extra["incident"] = std::move(incident);
}

}  // namespace rollback::cli
