// `--json` on a run (run, backup, resume, rehearse, check --auto): JSON Lines on stdout, one
// event per line as it happens, so a CI system can follow the run live. docs/operations.md
// ("JSON Lines") lists the fields:
//   {"event":"step_started", "index", "total", "id", "name", "action", "phase", "group", "time"}
//   {"event":"step_finished", "index", "total", ...the step as report.json has it}
//   {"event":"run_finished", ...report.json's fields, "exit_code", "report_path"}   (last)
// The human lines go to stderr meanwhile. Every line is redacted.
#pragma once

#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>

#include <rollback/engine/run_record.hpp>

namespace rollback::report {

class JsonLines {
 public:
  explicit JsonLines(std::FILE* out) : out_(out) {}
  void step_started(const engine::StepRecord& step, size_t index, size_t total);
  void step_finished(const engine::StepRecord& step, size_t index, size_t total);
  // One event, on one line, flushed. Members of a parallel group end from their own threads.
  void line(const nlohmann::json& event);

 private:
  std::mutex mutex_;
  std::FILE* out_;
};

}  // namespace rollback::report
