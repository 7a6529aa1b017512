// What an adapter action is: a name, a parameter schema, and validate / describe /
// preflight / run. The engine drives actions only through this interface and knows no
// adapter's details; adapters know nothing of the CLI.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <rollback/plan/monitor.hpp>
#include <rollback/plan/params.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/proc/runner.hpp>
#include <rollback/util/comparison.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::actions {

// The parameter model lives below, in plan/ (the loader checks steps against it).
using plan::ActionSchema;
using plan::param;
using plan::ParamCheck;
using plan::Params;
using plan::ParamSpec;
using plan::ParamType;

// A value an action observed, for the report's post-rollback state: "status" = "200",
// "latency" = "35ms", "rows" = "1042".
struct Observation {
  std::string name;
  std::string value;
  bool ok = true;
  // For the incident log's "worst over the window": the value as a number and which way is
  // worse (a latency: higher; a count expected to stay >= 1: lower). Unset: no number.
  std::optional<double> number;
  enum class Worse { Unknown, Higher, Lower } worse = Worse::Unknown;

  // The direction of a value held to `expected` ("<= 0.05": higher is worse).
  static Worse worse_for(const Comparison& expected) {
    switch (fails_when(expected)) {
      case FailsWhen::Higher: return Worse::Higher;
      case FailsWhen::Lower: return Worse::Lower;
      case FailsWhen::Either: break;
    }
    return Worse::Unknown;
  }
};

// One sample of a metric that `watch` keeps series of (http.probe's latency, docker.stats'
// memory per container, fs.disk_free's free space): the engine aggregates without knowing
// which action measured it.
struct Measurement {
  plan::Metric metric = plan::Metric::LatencyMs;
  std::string subject;  // the URL, container or path measured
  double value = 0;
};

struct Outcome {
  bool ok = true;
  bool transient = false;         // a retry may help (timeouts, refused connections, 429)
  // Succeeded, but the operator must see why not fully (a notification not delivered): the
  // step does not fail the run, and the console and report say it in yellow.
  bool warning = false;
  std::string message;            // success: a summary; failure: what, where, expected vs seen
  // The service says the step's own parameters are wrong (Prometheus refusing a query as
  // bad_data): no retry helps, and `check` reports a plan error (exit 2) instead of counting
  // a failing criterion toward a rollback.
  bool plan_error = false;
  // When what this probe sees began, by the source's own clock (an alert's startsAt): the
  // incident log's "began" when it is earlier than the first failing check.
  std::optional<std::chrono::system_clock::time_point> began;
  std::vector<Observation> observations;
  std::string log_excerpt;        // bounded output worth keeping in the report
  nlohmann::json data = nlohmann::json::object();  // details for report.json
  std::vector<Measurement> measurements;           // for `watch` (read-only actions)

  static Outcome success(std::string message = {});
  static Outcome failure(std::string message, bool transient = false);

  // Appends a phrase to `message` that the console and the report can say in the plan's
  // language: `english` is the phrase with "{}" placeholders, filled from `args` in order;
  // `id` names its translations in report/'s tables ("volume.restored"). The phrases go
  // into `data["phrases"]` ({parts: [{id, args}], text: the English message they make},
  // so report.json and the journal keep them); a language without a translation for
  // every part, or a message that no longer reads as `text`, is shown as it is.
  Outcome& say(std::string_view id, std::string_view english, std::vector<std::string> args = {});
};

struct ActionContext {
  std::string step_id;
  proc::Runner& runner;
  // Sets a run variable for later steps (`into:`), e.g. fs.latest's path, pg.query's count.
  std::function<void(const std::string& name, const std::string& value)> set_var;
  // A log line from the step (the engine redacts and prefixes it).
  std::function<void(std::string_view line)> log;
  Millis timeout{0};                     // the step's timeout; 0 = none
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool dry_run = false;
  // Whose work this is: helper containers are named after the run and step and labelled
  // with both values, so the next run's cleanup finds what a killed run left behind.
  std::string run_id;
  std::string state_dir;
  // Records a resource the step holds until release() (a container it paused): a run
  // killed in between leaves it in the journal, and cleanup ends it. Both may be empty
  // (a probe outside a run): then nothing is recorded.
  std::function<void(const nlohmann::json& resource)> hold;
  std::function<void(const nlohmann::json& resource)> release;
  // A fact the step decided that a rerun of it must reuse rather than decide again (the
  // commit a push leases on): journaled at once; `notes` holds those an earlier attempt
  // or an interrupted run of this step recorded. `note` may be empty outside a run.
  std::function<void(const std::string& key, const std::string& value)> note;
  std::map<std::string, std::string> notes;
  // The notifications sent once a run has ended, an interrupted one included: that interrupt
  // must not stop them (their timeout bounds them). Everything else stops at an interrupt.
  bool survives_cancel = false;

  // Time left before the step's deadline, at most `cap` (for a child process' timeout).
  Millis remaining(Millis cap) const;
};

// What a run hands an action's cleanup: which state dir's leftovers to look for, and the
// resources earlier steps recorded as held (ActionContext::hold) and never released.
struct CleanupContext {
  proc::Runner& runner;
  std::string state_dir;                     // the label value helpers carry
  std::string run_id;                        // "" = any run of this state dir
  std::vector<nlohmann::json> held;          // this action's unreleased resources
  std::function<void(std::string_view line)> log;
};

class Rehearsal;  // actions/rehearsal.hpp: the throwaway copies of one `rollback rehearse`

// A kind of throwaway copy that `rollback rehearse` makes (docker's labelled containers,
// networks and volumes; a scratch database; a git clone), declared by the adapter that makes
// it, in its own file, and registered beside its actions (Registry::add_copy_kind). The
// generic Rehearsal records each copy before making it ({"kind": name, ...}, journaled as a
// held resource) and, at the rehearsal's end or at the next run after a killed one, hands
// every record of this kind to `remove` and calls `sweep`; it never knows what a kind is.
struct CopyKind {
  std::string name;  // the "kind" of its records: "volume", "database", "clone"
  // Removes one copy by its record. Optional (a sweep finds labelled copies). Never throws;
  // tells what it did, or could not do, through ctx.log.
  std::function<void(const nlohmann::json& record, CleanupContext& ctx)> remove;
  // Removes by label every copy of this kind of ctx.run_id ("" = of any rehearsal of
  // ctx.state_dir), made or not: what a killed run left without a record. Optional; called
  // before `remove` for the records.
  std::function<void(CleanupContext& ctx)> sweep;
  // Adds what this kind mapped to a rehearsal's summary (report.json's extra.rehearsal).
  std::function<void(const Rehearsal& rehearsal, nlohmann::json& summary)> summarize;  // optional
};

// How a rehearsal runs one step: with its params pointed at throwaway copies (Run), or not at
// all (Skip, with the reason the report shows).
struct Rehearsed {
  enum class Kind { Run, Skip };
  Kind kind = Kind::Skip;
  Params params;     // Run: what the action runs with
  std::string note;  // why it is skipped, or what it was pointed at
  static Rehearsed run(Params params, std::string note = {}) { return {Kind::Run, std::move(params), std::move(note)}; }
  static Rehearsed skip(std::string why) { return {Kind::Skip, Params(), std::move(why)}; }
};

using RehearseFn = std::function<Result<Rehearsed>(Rehearsal&, ActionContext&, const Params&)>;

struct Action {
  std::string name;                // "docker.compose"
  std::string summary;             // one line, for docs and errors
  std::vector<ParamSpec> params;
  bool destructive = false;        // default for steps using it; a plan may override
  bool read_only = false;          // safe to run for real in dry-run, preflight and criteria
  // A Bool param making one step's use read-only when the step sets it to a literal true
  // (docker.exec: `read_only: true`); see plan::reads_only.
  std::string read_only_param;
  bool rerun_safe = true;          // `resume` may run it again after a crash mid-step
  // A failed run leaves things as they were (see plan::ActionSchema): `fallback: failed`.
  bool failure_changes_nothing = false;
  std::function<void(ParamCheck&)> validate;                          // optional
  std::function<std::string(const Params&)> describe;                 // dry-run line
  // What a dry run adds to describe's line, looked up for real and read-only (docker.stop:
  // the containers it would stop). Only its message is shown.
  std::function<Outcome(ActionContext&, const Params&)> preview;  // optional
  // Read-only check that what the step needs is there (restore source exists and verifies,
  // programs present, daemon answering). Runs before the first destructive step of a run.
  std::function<Outcome(ActionContext&, const Params&)> preflight;    // optional
  std::function<Outcome(ActionContext&, const Params&)> run;
  // Ends what a killed or timed-out run of this action left behind (helper containers,
  // paused containers). Called by the engine only: the run pipeline at a run's start and
  // end, and the step runner for what a step still holds when it ends; never by the CLI.
  // Must be safe to call when there is nothing to clean.
  std::function<void(CleanupContext&)> cleanup;                      // optional
  // How `rollback rehearse` runs this action against throwaway copies (a volume restored
  // into a labelled copy, a URL moved to the rehearsal's port), or why it cannot; an error
  // makes the target unusable for a rehearsal (exit 4 at preflight). Unset: it cannot be
  // rehearsed, and its steps are skipped with a note.
  // Declared where the action is defined (see rehearsal.hpp's helpers and each adapter's
  // *_rehearse.cpp).
  RehearseFn rehearse;  // optional
  // The application's own logs since `since`, for the report's incident log: read-only,
  // bounded, redacted, in Outcome::log_excerpt (docker: `docker logs --since` of the
  // containers the params select). Unset: this action names no application to read.
  std::function<Outcome(ActionContext&, const Params&, std::chrono::system_clock::time_point since)>
      app_logs;  // optional

  ActionSchema schema() const;
  // Whether this step's use of the action is read-only (read_only, or read_only_param: true).
  bool reads_only(const YAML::Node& with) const { return plan::reads_only(read_only, read_only_param, with); }
};

// Every action by name, and the target sources (`from: git`) registered beside them. The
// plan loader sees it as a plan::ActionCatalog; the engine finds actions to run in it.
class Registry final : public plan::ActionCatalog {
 public:
  void add(Action action);  // throws std::logic_error for a name already registered
  // A `from:` kind of targets (list, and where it applies verify, prune, partials, making):
  // engine::TargetCatalog serves `targets`, retention, preflight and rehearse from it.
  void add_target_source(std::string from, plan::TargetSource source);
  void add_target_source(std::string from, plan::TargetLister lister) {
    add_target_source(std::move(from), plan::TargetSource{.list = std::move(lister)});
  }
  void add_target_check(plan::TargetCheck check);  // run on every target (images gone)
  // How `offsite:` copies are made, listed, fetched and removed (rclone's).
  void set_offsite(plan::OffsiteTransport transport) { sources_.set_offsite(std::move(transport)); }
  // A kind of rehearsal copy (see CopyKind); throws std::logic_error for a name already taken.
  void add_copy_kind(CopyKind kind);
  const Action* find(std::string_view name) const;
  std::vector<const Action*> all() const;  // sorted by name
  const std::vector<CopyKind>& copy_kinds() const { return copy_kinds_; }  // in registration order

  const ActionSchema* schema(std::string_view name) const override;
  std::vector<std::string> names() const override;
  std::vector<std::string> target_sources() const override { return sources_.names(); }
  const plan::ActionSchema* target_with(std::string_view from) const override {
    const auto* source = sources_.find(from);
    return source && source->with ? &*source->with : nullptr;
  }
  const plan::TargetSources& targets() const { return sources_; }

 private:
  std::map<std::string, Action, std::less<>> actions_;
  std::map<std::string, ActionSchema, std::less<>> schemas_;
  plan::TargetSources sources_;
  std::vector<CopyKind> copy_kinds_;
};

// Every built-in adapter, registered by src/actions/registry.cpp (one line per adapter).
const Registry& builtin_registry();

}  // namespace rollback::actions
