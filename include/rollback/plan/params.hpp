// The parameter model of actions: what a step's `with:` may hold (ParamSpec), the load-time
// check of it (ParamCheck), the resolved values at run time (Params), and the schema of an
// action as the loader sees it (ActionSchema, ActionCatalog).
//
// It lives in plan/, below actions/: the loader checks a step against its action's schema
// without knowing any adapter, and actions/ builds on these types.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <rollback/plan/location.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::plan {

enum class ParamType { String, Int, Bool, Duration, StringList, StringMap, Any };

// What a parameter names, when it names something: an empty or blank value for such a
// parameter means "some other thing" to the tool it reaches (`docker-compose -p ''` is the
// directory's project), so it is refused rather than passed on (shared/field-lessons.md 13).
enum class Names { Nothing, Identifier, Url, Dsn, Path };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  bool required = false;
  std::vector<std::string> choices;  // allowed literal values (checked when not templated)
  bool sets_var = false;             // the value names a var this action sets (`into`)
  Names names = Names::Nothing;      // refuse empty or blank values (see Names)
  std::string doc;                   // one line for docs/actions.md and the JSON Schema
};

// The one way action tables spell a parameter: param("volume", ParamType::String).required()
struct ParamBuilder {
  ParamSpec spec;
  ParamBuilder& required(bool yes = true) { spec.required = yes; return *this; }
  ParamBuilder& choices(std::vector<std::string> values) { spec.choices = std::move(values); return *this; }
  ParamBuilder& sets_var() { spec.sets_var = true; return *this; }
  ParamBuilder& names(Names what) { spec.names = what; return *this; }
  ParamBuilder& doc(std::string text) { spec.doc = std::move(text); return *this; }
  operator ParamSpec() const { return spec; }  // NOLINT: reads as a table row
};
inline ParamBuilder param(std::string name, ParamType type = ParamType::String) {
  return ParamBuilder{ParamSpec{.name = std::move(name), .type = type}};
}

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
  ParamCheck(const std::string& file, const YAML::Node& with, const Location& step, Diagnostics& out)
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
  Location step_;
  Diagnostics& out_;
};

// An action as the plan loader needs to know it: its name, its parameters and their extra
// load-time rule, and the defaults a step takes from it.
struct ActionSchema {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  bool destructive = false;
  bool read_only = false;
  // A failed run of it leaves things as they were (coolify.rollback: a failed deployment
  // leaves the running one in place), so a plan's `fallback` may start after it failed.
  bool failure_changes_nothing = false;
  // A Bool parameter that, written as a literal true in a step, makes that step's use of the
  // action read-only (docker.exec's `read_only: true`); "" when there is none.
  std::string read_only_param;
  std::function<void(ParamCheck&)> validate;  // optional

  const ParamSpec* find_param(std::string_view param_name) const;
};

// Whether a step's use of an action is read-only: the action always is, or the step sets its
// `read_only_param` to a literal true. Read-only steps run for real in dry runs and preflight
// and may be criteria probes; their steps default to destructive: false.
bool reads_only(bool always, const std::string& read_only_param, const YAML::Node& with);

// What the loader may ask about the actions and target sources that exist. The action
// registry (actions/) implements it; plan tests use a small fake.
class ActionCatalog {
 public:
  virtual ~ActionCatalog() = default;
  virtual const ActionSchema* schema(std::string_view name) const = 0;
  virtual std::vector<std::string> names() const = 0;           // sorted
  virtual std::vector<std::string> target_sources() const = 0;  // `from:` names, sorted
  // What `target.with` takes for this `from:` kind; nullptr when the source does not say.
  virtual const ActionSchema* target_with(std::string_view /*from*/) const { return nullptr; }
};

// What is wrong with the resolved value of a parameter that names something (Names !=
// Nothing): empty or blank, or not a URL where one is needed. In words ("is empty"), never
// quoting the value (it may hold a secret); "" when the value is fine.
std::string value_problem(const ParamSpec& spec, std::string_view value);

}  // namespace rollback::plan
