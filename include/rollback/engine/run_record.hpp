// Everything known about one run: what the journal persists, what the report renders,
// what `history` and `resume` read back.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/time.hpp>

namespace rollback::engine {

using rollback::SystemTime;

enum class StepStatus { Pending, Running, Ok, Failed, Skipped, Interrupted, Described };
std::string_view to_string(StepStatus status);
std::optional<StepStatus> parse_step_status(std::string_view text);

struct StepRecord {
  std::string id;
  std::string name;
  std::string action;
  plan::Phase phase = plan::Phase::Restore;
  bool destructive = false;
  StepStatus status = StepStatus::Pending;
  std::string message;                 // redacted
  int attempts = 0;
  std::optional<SystemTime> started;
  std::optional<SystemTime> ended;
  Millis duration{0};
  bool failure_ignored = false;        // failed with on_failure: continue
  bool warning = false;                // ok, with something to see (Outcome::warning)
  std::vector<actions::Observation> observations;
  std::string log_excerpt;             // bounded, redacted
  nlohmann::json data = nlohmann::json::object();
  std::map<std::string, std::string> notes;  // ActionContext::note: what a rerun must reuse
  std::string group;                   // the parallel group's id ("" for a step on its own)
  std::string group_name;              // its `name:` ("" when it has none)
};

// A resource a step recorded as held (ActionContext::hold) and has not released: what the
// action's cleanup must end if the run died in between.
struct HeldResource {
  std::string step;
  std::string action;
  nlohmann::json resource;
};

struct RunRecord {
  std::string run_id;                  // "20250127-180000-full-3f2a"
  std::string plan_name;
  std::string plan_path;
  std::string plan_sha256;             // of the plan file the run (or its first attempt) read
  // Each time a run was interrupted (the last journaled event) and resumed; a resume that
  // read a changed plan (--allow-changed-plan) also names that plan's hash.
  struct Resumption {
    SystemTime interrupted{};
    SystemTime resumed{};
    std::string plan_sha256;
  };
  std::vector<Resumption> resumptions;
  std::optional<SystemTime> last_event;  // read back from the journal: when it last wrote
  plan::Kind kind = plan::Kind::Custom;
  std::string title;
  std::string operator_name;
  std::string reason;
  std::string host;
  std::string target_name;
  std::string target_path;
  std::string from_version;            // what was running before (var `from_version`)
  std::string to_version;              // what was restored (var `to_version`, else target)
  SystemTime started{};
  std::optional<SystemTime> ended;
  std::optional<Millis> budget;
  bool dry_run = false;
  // `rollback rehearse`: the steps ran against throwaway copies; production was not touched.
  bool rehearsal = false;
  // Started by `check --auto` (kept for `resume`, so ${run.attended} stays "").
  bool unattended = false;
  std::map<std::string, std::string> vars;  // final non-secret vars, for resume and the report
  std::vector<StepRecord> steps;
  ExitCode result = ExitCode::Success;
  std::string result_message;          // one sentence: what happened, what state is left
  // The step that decided the result (the first hard failure, the interrupted step, or for
  // exit 5 the first failed verify step, on_failure: continue included); "" when none did.
  // Set by the executor, journaled; the report, the console and the fallback read it and
  // never look for a culprit by a rule of their own.
  std::string failing_step;
  plan::ReportSpec report;
  nlohmann::json extra = nlohmann::json::object();  // sections added later (monitoring)
  std::vector<HeldResource> held;      // read back from the journal: still held at its end
  // A run that fell back (plan `fallback:`): the plan that ran first, with its steps and
  // result, and why it handed over; this record is then the fallback plan's. At most one:
  // a fallback has no fallback of its own.
  std::vector<RunRecord> fell_back_from;
  std::string handed_over;             // on the first plan's record: why it fell back
  std::string fallback_note;           // the plan's fallback.note, shown when it ran
  // The plan-level `notify:` list, run once at the very end (never changes the result).
  std::vector<StepRecord> notifications;
};

// The record of the step failing_step names; null when none.
const StepRecord* failing_step_of(const RunRecord& record);

// After a fallback, what leads the run's one-line result: "coolify failed (…); git-sql ran
// instead: " ("" for a run that did not fall back). The run's end puts it before the result
// message, so the last console line, report.json and --json never say only "succeeded".
std::string fallback_lead(const RunRecord& record);

// When the run began: after a fallback, when its first plan started (one incident).
SystemTime run_began(const RunRecord& record);

// A text member of a JSON object; "" when absent or not text (the journal's readers).
std::string json_text(const nlohmann::json& j, const char* key);

// A step's record as JSON (times ISO-8601, durations in ms) and back; used by the journal
// and the report's JSON twin, so both spell fields the same way.
nlohmann::json step_to_json(const StepRecord& step);
StepRecord step_from_json(const nlohmann::json& j);

// At most `max_lines` lines of `text` (head and tail kept, the middle counted) and each line
// at most `max_line_bytes`: log excerpts stay readable in a report whatever a step printed.
// Control bytes are escaped (escape_controls) and credentials masked (redact) first.
std::string bound_excerpt(std::string_view text, size_t max_lines = 40,
                          size_t max_line_bytes = 400);

}  // namespace rollback::engine
