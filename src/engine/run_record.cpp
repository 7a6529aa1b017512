#include <rollback/engine/run_record.hpp>

#include <array>
#include <fmt/format.h>

#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::engine {
namespace {

constexpr std::array<std::pair<StepStatus, std::string_view>, 7> kStatuses{{
    {StepStatus::Pending, "pending"},
    {StepStatus::Running, "running"},
    {StepStatus::Ok, "ok"},
    {StepStatus::Failed, "failed"},
    {StepStatus::Skipped, "skipped"},
    {StepStatus::Interrupted, "interrupted"},
    {StepStatus::Described, "described"},
}};

std::optional<SystemTime> time_or(const nlohmann::json& j, const char* key) {
  auto text = json_text(j, key);
  if (text.empty()) return std::nullopt;
  return parse_iso_utc(text);
}

}  // namespace

std::string_view to_string(StepStatus status) {
  for (auto [s, name] : kStatuses)
    if (s == status) return name;
  return "pending";
}

std::optional<StepStatus> parse_step_status(std::string_view text) {
  for (auto [s, name] : kStatuses)
    if (name == text) return s;
  return std::nullopt;
}

nlohmann::json step_to_json(const StepRecord& step) {
  nlohmann::json j;
  j["id"] = step.id;
  j["name"] = step.name;
  j["action"] = step.action;
  j["phase"] = std::string(plan::to_string(step.phase));
  j["destructive"] = step.destructive;
  j["status"] = std::string(to_string(step.status));
  j["message"] = step.message;
  j["attempts"] = step.attempts;
  j["started"] = step.started ? nlohmann::json(format_iso_utc(*step.started)) : nlohmann::json();
  j["ended"] = step.ended ? nlohmann::json(format_iso_utc(*step.ended)) : nlohmann::json();
  j["duration_ms"] = step.duration.count();
  j["failure_ignored"] = step.failure_ignored;
  j["warning"] = step.warning;
  auto obs = nlohmann::json::array();
  for (const auto& o : step.observations)
    obs.push_back({{"name", o.name}, {"value", o.value}, {"ok", o.ok}});
  j["observations"] = std::move(obs);
  j["log_excerpt"] = step.log_excerpt;
  j["data"] = step.data;
  if (!step.notes.empty()) j["notes"] = step.notes;
  // The parallel group the step ran in (null for a step on its own).
  j["group"] = step.group.empty() ? nlohmann::json() : nlohmann::json(step.group);
  if (!step.group_name.empty()) j["group_name"] = step.group_name;
  return j;
}

StepRecord step_from_json(const nlohmann::json& j) {
  StepRecord step;
  step.id = json_text(j, "id");
  step.name = json_text(j, "name");
  step.action = json_text(j, "action");
  if (auto phase = plan::parse_phase(json_text(j, "phase"))) step.phase = *phase;
  step.destructive = j.value("destructive", false);
  if (auto status = parse_step_status(json_text(j, "status"))) step.status = *status;
  step.message = json_text(j, "message");
  step.attempts = j.value("attempts", 0);
  step.started = time_or(j, "started");
  step.ended = time_or(j, "ended");
  step.duration = Millis(j.value("duration_ms", 0LL));
  step.failure_ignored = j.value("failure_ignored", false);
  step.warning = j.value("warning", false);
  if (auto it = j.find("observations"); it != j.end() && it->is_array())
    for (const auto& o : *it)
      step.observations.push_back({json_text(o, "name"), json_text(o, "value"), o.value("ok", true)});
  step.log_excerpt = json_text(j, "log_excerpt");
  if (auto it = j.find("data"); it != j.end() && it->is_object()) step.data = *it;
  if (auto it = j.find("notes"); it != j.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) step.notes[k] = v.get<std::string>();
  step.group = json_text(j, "group");
  step.group_name = json_text(j, "group_name");
  return step;
}

std::string bound_excerpt(std::string_view raw, size_t max_lines, size_t max_line_bytes) {
  // Log lines are data: no terminal escapes reach a report or a console, and credentials
  // are masked before a line is clipped, so a cut cannot split a password from its URI.
  const std::string escaped = redact(escape_controls(raw));
  std::string_view text = escaped;
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  auto clip = [&](std::string_view line) {
    if (line.size() <= max_line_bytes) return std::string(line);
    size_t cut = max_line_bytes;  // on a UTF-8 character boundary
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    return std::string(line.substr(0, cut)) + " [...]";
  };
  std::string out;
  size_t head = lines.size() <= max_lines ? lines.size() : max_lines / 4;
  for (size_t i = 0; i < head; ++i) out += clip(lines[i]) + "\n";
  if (head == lines.size()) return out;
  size_t tail = max_lines - head;
  out += fmt::format("[... {} lines omitted ...]\n", lines.size() - head - tail);
  for (size_t i = lines.size() - tail; i < lines.size(); ++i) out += clip(lines[i]) + "\n";
  return out;
}

std::string json_text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const StepRecord* failing_step_of(const RunRecord& record) {
  if (record.failing_step.empty()) return nullptr;
  for (const auto& step : record.steps)
    if (step.id == record.failing_step) return &step;
  return nullptr;
}

std::string fallback_lead(const RunRecord& record) {
  std::string lead;
  for (const auto& first : record.fell_back_from)
    lead += fmt::format("{} failed ({}); {} ran instead: ", first.plan_name, first.result_message, record.plan_name);
  return lead;
}

SystemTime run_began(const RunRecord& record) {
  return record.fell_back_from.empty() ? record.started : record.fell_back_from.front().started;
}

}  // namespace rollback::engine
