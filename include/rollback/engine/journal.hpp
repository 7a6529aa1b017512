// runs/<run-id>/journal.jsonl: one JSON object per line, fsynced per event, so a crash
// leaves a journal that `resume` and `history` can read. Lines pass through redact().
//
// Events: {"event":"run_started", run fields...}, {"event":"step_started","step":id,...},
// {"event":"step_finished","step":id,"status":...,"message":...,"duration_ms":...},
// {"event":"var_set","name":..,"value":..} (non-secret only), {"event":"run_finished",...}.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/engine/run_record.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

class Journal {
 public:
  explicit Journal(std::filesystem::path file) : file_(std::move(file)) {}
  Status append(nlohmann::json event);  // adds "time" (UTC ISO-8601) when missing
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

// The run_started event: the run's identity, report spec, non-secret vars and every
// planned step (so steps that never started still show as not run after a crash).
nlohmann::json run_started_event(const RunRecord& record);
// The run_finished event: result code and message, end time, final non-secret vars.
nlohmann::json run_finished_event(const RunRecord& record);

// Reads a journal back into a record (steps in their last known state). A torn last line
// (crash mid-write) is ignored.
Result<RunRecord> read_journal(const std::filesystem::path& file);

}  // namespace rollback::engine
