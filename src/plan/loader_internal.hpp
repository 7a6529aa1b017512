// Internal to the plan loader: the state shared by the section readers (loader.cpp,
// loader_steps.cpp, loader_target.cpp) and the ${...} reference checks (loader_refs.cpp).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <rollback/plan/params.hpp>
#include <rollback/plan/plan.hpp>

#include "yaml_reader.hpp"

namespace rollback::plan::detail {

// The keys each section accepts and the values of its choices: the loader checks plans
// against them and plan_json_schema describes them, so the two cannot drift apart.
extern const std::vector<std::string> kTopKeys, kKinds, kReportKeys;            // loader.cpp
extern const std::vector<std::string> kStepKeys, kPhases, kRetryKeys, kGroupKeys, kOnFailure;  // loader_steps.cpp
extern const std::vector<std::string> kTargetKeys, kTargetDefaults;             // loader_target.cpp
extern const std::vector<std::string> kFallbackKeys, kFallbackWhen, kNotifyKeys;  // loader_fallback.cpp
extern const std::vector<std::string> kOffsiteKeys;  // loader_offsite.cpp

// Where a reference appears decides which names it may use.
enum class RefPlace {
  Var,         // vars: other vars, env, secrets, run.*, target.*
  Target,      // target section: vars not depending on target.*, env, secrets, run.*
  Require,     // target.require: checked per target, so also target.* and vars using it
  Step,        // step with/when: everything, plus values set by earlier steps
  Criterion,   // criteria probes: vars, env, secrets, run.* (no target, no step values)
  SecretFile,  // secrets' file paths: env and run.* (read before vars are bound)
  Notify,      // plan-level notify: vars, env, secrets, run.* and the run's outcome (run.result...)
};

struct Names {
  std::set<std::string> vars;                        // declared plan vars
  std::set<std::string> secrets;                     // declared secret names
  std::set<std::string> step_vars;                   // set (`into:`) by the steps read so far
  std::map<std::string, std::string> all_step_vars;  // name -> id of the first step setting it
  std::set<std::string> target_dependent;            // vars that use ${target.*}, directly or not
  // A backup plan whose target section names the target it makes (`makes:`): ${target.*}
  // is that target. Known before the sections are read, so vars are checked in file order.
  bool makes_target = false;
  std::string current_step;  // id of the step being read (or "#3"), for messages
  // While a `parallel:` group is read: the vars its members set (name -> member id). They
  // join step_vars only after the whole group, because its members run at the same time.
  std::map<std::string, std::string> group_vars;
};

struct Loader {
  Reader& r;
  const ActionCatalog& catalog;
  Plan& plan;
  Names names;
};

void read_vars(Loader& l, const YAML::Node& node);
void read_secrets(Loader& l, const YAML::Node& node);
void read_report(Loader& l, const YAML::Node& node);
void read_target(Loader& l, const YAML::Node& node);
void read_steps(Loader& l, const YAML::Node& node);
void read_criteria(Loader& l, const YAML::Node& node);
void read_monitor(Loader& l, const YAML::Node& node);
void read_fallback(Loader& l, const YAML::Node& node);  // after read_steps: `failed` checks them
void read_notify(Loader& l, const YAML::Node& node);
void read_offsite(Loader& l, const YAML::Node& node);  // after read_target: it needs a dir target

// Checks `with:` against the action's ParamSpecs (unknown, missing, shape, choices,
// literal Int/Bool/Duration, `into` names), its references, then the action's validate().
// `context` is "step 'x'"; `root` is how the map is named in messages ("with").
void check_params(Loader& l, const YAML::Node& with, const ActionSchema& action,
                  const std::string& context, const std::string& root, const Location& at,
                  RefPlace place);

// Checks every ${...} in `node` (recursively through lists and maps). `label` names the
// value in messages: "step 'x': with.url".
void check_refs(Loader& l, const YAML::Node& node, const std::string& label, RefPlace place);
// The same for a bare var name (`when: do_backup`).
void check_name_ref(Loader& l, const Location& at, const std::string& name,
                    const std::string& label, RefPlace place);

// Cycles between vars (an error) and which vars depend on ${target.*}.
void check_var_graph(Loader& l);

// The names that actions' sets_var params declare in a step's `with:` (literal only).
std::vector<std::string> names_set_by(const ActionSchema& action, const YAML::Node& with);

}  // namespace rollback::plan::detail
