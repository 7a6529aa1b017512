// What `rollback check` remembers between invocations: for each plan and criterion, since
// when it has been failing, so that `for: 5m` holds across cron runs a minute apart; and
// when `--auto` last ran the plan, for the cooldown that keeps a flapping service from
// being rolled back every minute.
//
// The clock is always a parameter: nothing here reads the system time, so tests (and the
// CLI) decide what "now" is. Persisted as <state-dir>/criteria.json:
//   {"version": 1, "plans": {"<plan>": {
//       "last_auto_run_at": "2025-01-27T18:00:00Z", "last_auto_run_id": "...",
//       "criteria": {"<name>": {"first_failed_at": "...Z" | null, "last_value": "...",
//                               "consecutive_failures": 3, "last_checked": "...Z"}}}}}
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/util/file_lock.hpp>
#include <rollback/actions/action.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/util/duration.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

using SystemTime = std::chrono::system_clock::time_point;

enum class Severity { Warning, Critical };

// One criterion of a plan, as the CLI reads it from the plan's `criteria` section.
struct Criterion {
  std::string name;
  Severity severity = Severity::Critical;
  Millis hold_for{0};  // the criterion's `for:`; 0 = holds at the first failed probe
};

// The plan's criterion as this module needs it (severity, `for:` or 0).
Criterion criterion_of(const plan::Criterion& criterion);

struct CriterionRecord {
  std::optional<SystemTime> first_failed_at;  // start of the current failing streak
  std::string first_value;                    // what the streak's first failing probe observed
  std::string last_value;                     // what the last probe observed
  // The worst number a failing probe of the streak observed ("latency=4.2s"), by the
  // observation's own direction (actions::Observation::worse); "" when none was a number.
  std::string worst_value;
  std::optional<double> worst_number;
  int consecutive_failures = 0;
  std::optional<SystemTime> last_checked;
};

struct PlanCriteria {
  std::map<std::string, CriterionRecord> criteria;
  std::optional<SystemTime> last_auto_run_at;
  std::string last_auto_run_id;
};

struct CriteriaState {
  std::map<std::string, PlanCriteria> plans;
};

struct LoadedCriteriaState {
  CriteriaState state;
  // Empty when the file was read (or did not exist yet). Otherwise why it was ignored
  // ("criteria.json:1:5: parse error ...") and the state is empty: `check` goes on, every
  // failing streak restarts, and the caller logs this warning.
  std::string warning;
};

// Never fails: a missing file is an empty state; an unreadable or corrupt one is an empty
// state with a warning (a damaged state file must not stop monitoring).
LoadedCriteriaState load_criteria_state(const std::filesystem::path& path);

// Held around each load -> update -> save of the state file (not around the probes): twenty
// `check` processes started by cron in the same second must not lose each other's updates;
// an erased last_auto_run_at would lose the cooldown. A blocking flock on "<path>.lock",
// released on destruction (or by the kernel when the process dies).
class CriteriaStateLock {
 public:
  explicit CriteriaStateLock(const std::filesystem::path& state_file);

 private:
  FileLock lock_;
};

// Writes atomically (temp file + rename), creating the parent directory.
Status save_criteria_state(const CriteriaState& state, const std::filesystem::path& path);

struct Evaluation {
  std::string name;
  Severity severity = Severity::Critical;
  bool failing = false;   // this probe failed
  bool holding = false;   // failing continuously for at least the criterion's `for:`
  Millis failing_for{0};  // since the first failure of the current streak (0 when passing)
  int consecutive_failures = 0;
  std::string value;      // what the probe observed
  Millis hold_for{0};     // the criterion's `for:`, for messages
  // The failing streak as the incident log shows it (empty while passing).
  std::optional<SystemTime> failing_since;
  std::string first_value, worst_value;
  // When the probe's source says the failure began (an alert's startsAt; ProbeResult::began).
  std::optional<SystemTime> source_began;
};

// One line for the console and logs: "critical api-down: failing for 3m00s (4 checks), holds
// at 5m00s; saw: connection refused" / "warning slow: ok (saw: 200 in 35ms)". `value` should
// already be redacted by the caller (it comes from a probe's message).
std::string format_evaluation(const Evaluation& evaluation);

// Records one probe result for `plan`/`criterion` at `now` and evaluates it. A passing
// probe ends the failing streak. A clock that went backwards counts as no time passed.
// `observations` (the probe's own) give the streak's worst number.
Evaluation update(CriteriaState& state, const std::string& plan, const Criterion& criterion,
                  bool failed, std::string observed, SystemTime now,
                  const std::vector<actions::Observation>& observations = {});

struct Verdict {
  ExitCode exit = ExitCode::Success;  // Success, CheckWarning (10) or CheckCritical (11)
  std::vector<std::string> critical_holding;  // names, in evaluation order
  std::vector<std::string> warning_holding;
  std::vector<std::string> failing_not_holding;  // failing, but not for long enough yet
};

Verdict summarize(const std::vector<Evaluation>& evaluations);

// True while the last `--auto` run of `plan` started less than `cooldown` before `now`.
bool in_cooldown(const CriteriaState& state, const std::string& plan, Millis cooldown,
                 SystemTime now);

// Notes that `--auto` started `run_id` for `plan` at `now`, and restarts the plan's
// failing streaks: the rolled-back service must fail for `for:` again before another run.
void record_auto_run(CriteriaState& state, const std::string& plan, const std::string& run_id,
                     SystemTime now);

// Drops records of criteria no longer in the plan (renamed or removed), so a stale streak
// cannot hold under a reused name months later.
void forget_other_criteria(CriteriaState& state, const std::string& plan,
                           const std::vector<std::string>& current_names);

inline constexpr Millis kDefaultCooldown{30 * 60 * 1000};

// One probe's result, as the CLI obtained it by running the criterion's read-only action
// (an action that could not run at all counts as failed, with its error as `observed`).
struct ProbeResult {
  Criterion criterion;
  bool failed = false;
  std::string observed;
  std::vector<actions::Observation> observations;
  std::optional<SystemTime> began;  // the outcome's own `began` (an alert's startsAt)
  bool plan_error = false;          // the probe was refused as written (Outcome::plan_error)
};

struct CheckDecision {
  std::vector<Evaluation> evaluations;  // in probe order
  Verdict verdict;
  bool run_plan = false;       // --auto and a critical criterion holds and not cooling down
  bool cooling_down = false;   // a critical criterion holds but the cooldown forbids a run
};

// One `check` invocation on `state` (which it updates; the caller saves it): records every
// probe, forgets criteria no longer in the plan, and decides. When run_plan is true the
// caller starts the run and then calls record_auto_run with its id.
CheckDecision decide_check(CriteriaState& state, const std::string& plan,
                           const std::vector<ProbeResult>& probes, bool auto_mode,
                           Millis cooldown, SystemTime now);

// The incident log's part that `check` knows, for the run --auto starts (report.json's
// "incident"): when the failure began (the earliest start of a streak among the critical
// criteria that held, or what their source said, such as an alert's startsAt, when earlier), which criteria fired, and every failing criterion's streak: since
// when, how many checks, its first, last and worst observed values.
nlohmann::json incident_of(const CheckDecision& decision);

// "2025-01-27T18:00:00Z" (UTC, whole seconds); read back with parse_iso_utc.


}  // namespace rollback::engine
