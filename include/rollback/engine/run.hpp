// The run as a service: everything a run does, from a plain request, with the registry,
// the process runner and the printing injected. `rollback PLAN`, `backup`, `resume`,
// `rehearse` and `check --auto` are thin callers (src/cli/); a test runs a plan through
// RunService without CLI11 and without the global registry (tests/unit/test_engine_run_service.cpp).
//
// A run, in order: lock (a rehearsal holding it is preempted), cleanup of what killed runs
// left, preflight, confirmation, execution with the journal, the rehearsal verdict, the
// fallback hand-over, the backup's commit and retention, the plan-level notifications, the
// report, the final line. Nothing destructive runs before the target is resolved and
// proved (engine/target_catalog.hpp) and every step's preflight has passed.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/engine/executor.hpp>
#include <rollback/engine/lock.hpp>
#include <rollback/engine/run_record.hpp>
#include <rollback/engine/target_catalog.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/proc/runner.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

// What the operator (or `check --auto`) asked for, as plain values.
struct RunRequest {
  std::string plan;                // name or path, as given
  std::string target;              // --target: name, unique prefix, latest, previous
  bool dry_run = false;
  bool yes = false;                // no confirmation of destructive steps
  std::vector<std::string> vars;   // --var KEY=VALUE
  std::string vars_file;           // --vars
  std::string reason;
  std::string operator_name;       // "" = the login name
  std::string report;              // --report: where the Markdown goes ("" = the run dir)
  // Set by `check --auto`, which takes the lock itself before deciding to run (so 20 cron
  // invocations can never start two rollbacks) and names the run before it starts.
  bool lock_held = false;
  std::string run_id;
  bool unattended = false;         // ${run.attended} is "" instead of "yes"
  std::string since;               // --since: when the failure began (incident log)
  nlohmann::json incident;         // the incident log so far (check --auto's criteria)
  nlohmann::json json_extra;       // fields `check --auto` adds to the run's JSON result
};

struct ResumeRequest {
  std::string run_id;              // "" = the newest resumable run
  bool yes = false;                // re-run a step that is not safe to repeat
  bool allow_changed_plan = false;
};

// How a run talks to the person (or script) that started it: the CLI prints, a test records.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void error(std::string_view message) = 0;  // a refusal or failure ("error: ...")
  virtual void warn(std::string_view line) = 0;      // a line for stderr (problems, notes)
  virtual void note(std::string_view line) = 0;      // a line in the run's progress
  virtual void event(const nlohmann::json& event) = 0;  // a JSON Lines event beside the progress (fallback)
  // The executor's progress callbacks (console, JSON Lines).
  virtual void progress(ExecuteOptions& options) = 0;
  virtual void log_line(std::string_view step, std::string_view line) = 0;
  // Whether a person can answer (stdin is a terminal).
  virtual bool interactive() = 0;
  // Destructive steps `destructive` will run: true when the person confirmed.
  virtual bool confirm(const plan::Plan& plan, const std::optional<plan::Target>& target,
                       const std::string& destructive) = 0;
  // A plan whose default is `none`, run on a terminal without --target: the person picks
  // one of `rows` (only a verifying one); nullopt stops the run (exit 2).
  virtual std::optional<std::string> pick_target(const plan::Plan& plan, const std::vector<CatalogRow>& rows) = 0;
  // The run's end: its summary line, then the report path (or under --json the last line).
  virtual void finished(const RunRecord& record, const std::optional<std::filesystem::path>& report,
                        const nlohmann::json& json_extra) = 0;
};

// Writes the Markdown report and its JSON twin; returns the Markdown's path.
using ReportWriter = std::function<Result<std::filesystem::path>(const RunRecord&, const std::filesystem::path&)>;
// Finds and loads a plan by name or path (diagnostics are the caller's to print); nullopt:
// it did not load.
using PlanLoader = std::function<std::optional<plan::Plan>(const std::string& name_or_path)>;

struct RunDeps {
  const actions::Registry& registry;
  proc::Runner& runner;
  RunObserver& observer;
  ReportWriter write_report;
  PlanLoader load_plan;
  std::filesystem::path state_dir;
  std::string host;        // for the record
  std::string login_name;  // the default operator
};

class RunService {
 public:
  // A relative state dir is made absolute here, at the start: steps run programs in other
  // folders (compose in the stack dir), where it would name another place.
  explicit RunService(RunDeps deps) : deps_(std::move(deps)) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(deps_.state_dir, ec);
    if (!ec && !deps_.state_dir.empty()) deps_.state_dir = absolute.lexically_normal();
  }

  // Runs `plan` (and, when it has one, its `fallback` in the same run); the exit code.
  int run(const plan::Plan& plan, const RunRequest& request, const plan::Plan* fallback = nullptr);
  // `rollback rehearse`: the plan against throwaway copies of its target.
  int rehearse(const plan::Plan& plan, const RunRequest& request);
  // `rollback resume`: continues a killed, interrupted or failed run from its journal.
  int resume(const ResumeRequest& request);

  const RunDeps& deps() const { return deps_; }

 private:
  RunDeps deps_;
};

// The state dir's run lock for a run named `me`; on contention the holder is printed and
// nullopt returned (exit 3). A rehearsal takes it preemptible; a real run that finds a
// rehearsal holding it asks that rehearsal to stop (SIGTERM, after writing <its run
// dir>/preempted) and waits for it to let go.
std::optional<RunLock> take_run_lock(const RunDeps& deps, LockHolder me);

// How long a real run waits for a preempted rehearsal to remove its copies and let go.
inline constexpr std::chrono::seconds kPreemptPatience{120};

// "20250127-180000-full-3f2a": sortable, names the plan, unique enough per state dir.
std::string new_run_id(const std::string& plan_name, SystemTime started);

// The --vars file's values overlaid with each --var KEY=VALUE.
Result<std::map<std::string, std::string>> request_overrides(const RunRequest& request);
// Binds the plan's vars in `scope` with the request's overrides, its secrets and
// ${run.attended}: the scope `check`, `watch` and `targets` probe and list in. Listing
// targets needs no secrets unless the target section uses one: need_secrets=false lets a
// person who does not hold the run's credentials list them.
Status bind_request(const plan::Plan& plan, const RunRequest& request, plan::Scope& scope, bool need_secrets = true);
// Of the request's --var/--vars values, those `plan` declares (a plan with a fallback: a name
// neither plan declares is an error).
Result<RunRequest> request_for_plan(const plan::Plan& plan, const RunRequest& request, const plan::Plan& other);

// --since: an ISO-8601 UTC time (2025-01-27T17:40:00Z) or a duration ago (30m).
std::optional<SystemTime> parse_since(std::string_view text, SystemTime now);

}  // namespace rollback::engine
