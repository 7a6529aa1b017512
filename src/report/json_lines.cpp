#include <rollback/report/json_lines.hpp>

#include <rollback/util/redact.hpp>
#include <rollback/util/time.hpp>

namespace rollback::report {

void JsonLines::step_started(const engine::StepRecord& step, size_t index, size_t total) {
  nlohmann::json event = {{"event", "step_started"}, {"index", index},      {"total", total},
                          {"id", step.id},           {"name", step.name},   {"action", step.action},
                          {"phase", std::string(plan::to_string(step.phase))}};
  if (!step.group.empty()) event["group"] = step.group;
  event["time"] = format_iso_utc(step.started.value_or(std::chrono::system_clock::now()));
  line(event);
}

void JsonLines::step_finished(const engine::StepRecord& step, size_t index, size_t total) {
  nlohmann::json event = {{"event", "step_finished"}, {"index", index}, {"total", total}};
  event.update(engine::step_to_json(step));
  line(event);
}

void JsonLines::line(const nlohmann::json& event) {
  auto text = redact(event.dump());
  std::lock_guard lock(mutex_);
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace rollback::report
