// runs/<run-id>/journal.jsonl: one JSON object per line, fsynced per event, so a crash
// leaves a journal that `resume` and `history` can read. Lines pass through redact().
//
// Events: {"event":"run_started", run fields...}, {"event":"step_started","step":id,...},
// {"event":"step_finished","step":id,"status":...,"message":...,"duration_ms":...},
// {"event":"var_set","name":..,"value":..} (non-secret only), {"event":"run_finished",...}.
// A run that falls back then writes {"event":"fallback","from":..,"to":..,"why":..} and the
// fallback plan's own run_started ... run_finished; the plan-level notify list, at the very
// end, one {"event":"notified","step":"notify-1",...} each.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/engine/run_record.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

class Journal {
 public:
  explicit Journal(std::filesystem::path file) : file_(std::move(file)) {}
  // Reserves disk for the events of a run of `steps` steps, before anything runs: a disk
  // that fills up during the incident (often its cause) cannot then cost the run its record.
  Status reserve(size_t steps);
  // Adds "time" (UTC ISO-8601) when missing. A failure is also remembered (lost()).
  // Thread-safe: the members of a parallel group append from their own threads, and each
  // event stays one whole line.
  Status append(nlohmann::json event);
  const std::filesystem::path& file() const { return file_; }
  // Why events were lost ("" while every one was written), and how many.
  std::string lost() const {
    std::lock_guard lock(mutex_);
    return lost_;
  }
  size_t lost_events() const {
    std::lock_guard lock(mutex_);
    return lost_events_;
  }

  static std::uint64_t reserve_bytes(size_t steps) { return (64u << 10) + steps * (32u << 10); }

 private:
  std::filesystem::path file_;
  mutable std::mutex mutex_;
  std::string lost_;
  size_t lost_events_ = 0;
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
