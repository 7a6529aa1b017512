// The state dir's runs: the only code that lists runs, reads their journals and answers
// "is this run live, finished, killed or resumable" and "which targets do runs still need".
// `history`, `resume`, retention, `watch` and the cleanup of leftovers all ask here.
//
// <state>/lock          the run lock (engine/lock.hpp)
// <state>/runs/<id>/    journal.jsonl, report.md and report.json, the run's own files
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <rollback/engine/run_record.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

enum class RunState {
  Running,   // no end recorded, and it holds the state dir's lock now
  Finished,  // run_finished recorded
  Killed,    // no end recorded, and nobody holds the lock for it: it died
};
std::string_view to_string(RunState state);  // "running", "finished", "killed"

struct StoredRun {
  RunRecord record;
  RunState state = RunState::Finished;
  std::filesystem::path dir;  // <state>/runs/<id>
  // A backup that a later run of the same backup plan superseded: resuming it would make an
  // outdated backup, so it is not resumable and its unfinished target may go.
  bool superseded = false;
};

class StateStore {
 public:
  explicit StateStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path runs_dir() const { return dir_ / "runs"; }
  std::filesystem::path lock_file() const { return dir_ / "lock"; }
  std::filesystem::path run_dir(const std::string& run_id) const { return runs_dir() / run_id; }

  // The runs folder is a real folder, never a symlink (one planted there would carry
  // journals and reports elsewhere); a run's folder likewise. ok() when it does not exist.
  Status check_runs_dir() const;
  Status check_run_dir(const std::string& run_id) const;

  // Every run with a readable journal, newest first. A state dir that does not exist yet has
  // no runs; one that cannot be read (another user's, permission denied) is an error, never
  // "no runs".
  Result<std::vector<StoredRun>> runs() const;
  Result<StoredRun> run(const std::string& run_id) const;

  // The one rule for what `resume` continues: a real run (not a dry run, not a rehearsal:
  // those are run again, nor a superseded backup) that was killed, interrupted (130) or
  // failed at a step (1).
  static bool resumable(const StoredRun& run);
  // The newest resumable run; nullopt when there is none.
  Result<std::optional<StoredRun>> latest_resumable() const;

  // Names and paths of targets that runs still need, so retention keeps them: the target and
  // every var value of each run that is running or resumable. Dry runs and rehearsals need
  // nothing (a rehearsal is run again, never resumed).
  Result<std::set<std::string>> targets_needed() const;

  // The resources (ActionContext::hold) runs left held: of one run, or (run_id "") of every
  // run that died without an end record. For the cleanup of leftovers.
  std::vector<HeldResource> held(const std::string& run_id) const;

  // The newest run of `plan_name` (any plan when ""), and a run's Markdown report.
  Result<std::optional<StoredRun>> latest_of(const std::string& plan_name) const;
  std::optional<std::filesystem::path> report_of(const StoredRun& run) const;

 private:
  std::filesystem::path dir_;
  Result<StoredRun> read(const std::filesystem::path& run_dir, const std::string& live_run) const;
  std::string live_run_id() const;
};

}  // namespace rollback::engine
