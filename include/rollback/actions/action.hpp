// What an adapter action is: a name, a parameter schema, and validate / describe /
// preflight / run. The engine drives actions only through this interface and knows no
// adapter's details; adapters know nothing of the CLI.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <rollback/plan/plan.hpp>
#include <rollback/proc/runner.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::actions {

enum class ParamType { String, Int, Bool, Duration, StringList, StringMap, Any };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  bool required = false;
  std::vector<std::string> choices;  // allowed literal values (checked when not templated)
  bool sets_var = false;             // the value names a var this action sets (`into`)
};

// Resolved parameters of one step: `${...}` already substituted, scalars converted per the
// schema (Int -> number, Bool -> boolean; Duration stays text, read with duration()).
class Params {
 public:
  Params() = default;
  explicit Params(nlohmann::json values) : values_(std::move(values)) {}

  bool has(std::string_view key) const;
  std::string str(std::string_view key, std::string_view fallback = "") const;
  long long integer(std::string_view key, long long fallback = 0) const;
  bool flag(std::string_view key, bool fallback = false) const;
  Millis duration(std::string_view key, Millis fallback) const;
  std::vector<std::string> list(std::string_view key) const;  // a scalar counts as one item
  std::map<std::string, std::string> map(std::string_view key) const;
  const nlohmann::json& raw(std::string_view key) const;  // null json when absent
  const nlohmann::json& all() const { return values_; }

 private:
  nlohmann::json values_ = nlohmann::json::object();
};

// Load-time checks beyond the schema ("url or urls, not both"): errors point at the key.
class ParamCheck {
 public:
  ParamCheck(const std::string& file, const YAML::Node& with, const plan::Location& step,
             plan::Diagnostics& out)
      : file_(file), with_(with), step_(step), out_(out) {}

  bool has(std::string_view key) const;
  const YAML::Node node(std::string_view key) const;  // a null node when absent
  // The literal scalar, or nullopt when absent or containing ${...} (only known at run).
  std::optional<std::string> literal(std::string_view key) const;
  void error(std::string_view key, std::string message);  // at the key, or the step
  void error_at_step(std::string message);

 private:
  // Held by value: callers often pass temporaries (a file name built on the spot).
  std::string file_;
  YAML::Node with_;
  plan::Location step_;
  plan::Diagnostics& out_;
};

// A value an action observed, for the report's post-rollback state: "status" = "200",
// "latency" = "35ms", "rows" = "1042".
struct Observation {
  std::string name;
  std::string value;
  bool ok = true;
};

struct Outcome {
  bool ok = true;
  bool transient = false;         // a retry may help (timeouts, refused connections, 429)
  // Succeeded, but the operator must see why not fully (a notification not delivered): the
  // step does not fail the run, and the console and report say it in yellow.
  bool warning = false;
  std::string message;            // success: a summary; failure: what, where, expected vs seen
  std::vector<Observation> observations;
  std::string log_excerpt;        // bounded output worth keeping in the report
  nlohmann::json data = nlohmann::json::object();  // details for report.json

  static Outcome success(std::string message = {});
  static Outcome failure(std::string message, bool transient = false);
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

  // Time left before the step's deadline, at most `cap` (for a child process' timeout).
  Millis remaining(Millis cap) const;
};

struct Action {
  std::string name;                // "docker.compose"
  std::string summary;             // one line, for docs and errors
  std::vector<ParamSpec> params;
  bool destructive = false;        // default for steps using it; a plan may override
  bool read_only = false;          // safe to run for real in dry-run, preflight and criteria
  bool rerun_safe = true;          // `resume` may run it again after a crash mid-step
  std::function<void(ParamCheck&)> validate;                          // optional
  std::function<std::string(const Params&)> describe;                 // dry-run line
  // Read-only check that what the step needs is there (restore source exists and verifies,
  // programs present, daemon answering). Runs before the first destructive step of a run.
  std::function<Outcome(ActionContext&, const Params&)> preflight;    // optional
  std::function<Outcome(ActionContext&, const Params&)> run;
};

class Registry {
 public:
  void add(Action action);
  const Action* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Action, std::less<>> actions_;
};

// Every built-in adapter, registered by src/actions/registry.cpp (one line per adapter).
const Registry& builtin_registry();

}  // namespace rollback::actions
