// The typed model of a plan file (shared/spec.md, "Plan files"). Produced by load_plan()
// (plan/loader.hpp); consumed by the engine, `validate`, `list`, `targets` and `check`.
// Step parameters stay YAML nodes (with their file positions) until run time, because
// `${...}` references may name values that earlier steps produce.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <rollback/plan/location.hpp>
#include <rollback/plan/monitor.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::plan {

enum class Phase { Assess, Backup, Stop, Restore, Start, Verify, Notify };
enum class OnFailure { Abort, Continue };
enum class Kind { Quick, Full, Emergency, Coolify, GitSql, Backup, Custom };

std::string_view to_string(Phase phase);
std::string_view to_string(Kind kind);
std::optional<Phase> parse_phase(std::string_view text);
std::optional<Kind> parse_kind(std::string_view text);

// Which failures a retry tries again: only those the action calls transient (a refused
// connection, a timeout, a 503), or any (a probe still seeing the old version).
enum class RetryOn { Transient, Any };

struct RetryPolicy {
  int attempts = 1;                 // total tries, >= 1
  Millis delay{0};                  // before the second try
  double backoff = 1.0;             // delay multiplier per further try
  std::optional<Millis> until;      // wait-until mode: keep trying every `every` for this long
  Millis every{2000};
  std::optional<RetryOn> on;        // unset: Transient for attempts, Any for until

  RetryOn retries() const { return on.value_or(until ? RetryOn::Any : RetryOn::Transient); }
};

struct Step {
  std::string id;
  std::string name;  // defaults to id
  Phase phase = Phase::Restore;
  std::string action;
  YAML::Node with;                  // raw parameters, interpolated at run time
  std::optional<Millis> timeout;
  RetryPolicy retry;
  OnFailure on_failure = OnFailure::Abort;
  std::string when;                 // "" = always; else a var name or ${...} that must be truthy
  bool destructive = false;         // explicit `destructive:` or the action's default
  Location where;                   // the step's `- id:` position
  // The `parallel:` group the step belongs to: its id ("" for a step on its own) and its
  // `name:` ("" when it has none). A group's members stand next to each other in
  // Plan::steps, in file order, and start together.
  std::string group;
  std::string group_name;
};

struct SecretSource {
  std::string name;
  std::string env;   // exactly one of env / file is set
  std::string file;
  Location where;
};

struct TargetSpec {
  std::string from;                 // "" (plan takes no target), "dir", "coolify", "git"
  std::string dir;                  // from: dir — where targets live (may use ${vars})
  std::string glob = "*";           // from: dir — which entries count as targets
  std::string default_target = "none";  // latest | previous | none
  std::vector<std::string> require;     // from: dir — paths that must exist in the target
  YAML::Node with;                  // from: coolify / git — adapter parameters
  // from: dir — how many targets a successful run of a `kind: backup` plan keeps (the
  // newest); older ones are pruned unless protected (plan/retention.hpp). Unset: all kept.
  std::optional<int> keep;
  // A `kind: backup` plan: the name of the target this run makes (`${backup_name}`). The
  // run builds it under a name no listing matches and puts it in place only when every
  // step succeeded, so a killed backup never becomes `latest`; ${target.path} is where the
  // steps write. Unset: the plan writes where its own vars say (no atomic commit).
  std::string makes;
  Location where;
};

struct Criterion {
  std::string name;
  bool critical = false;
  ProbeSpec probe;                  // a read-only action
  std::optional<Millis> hold_for;   // `for:`
  // `vars:` what this criterion holding means for the run `check --auto` starts: overrides
  // as if given with --var (the runbook's "restore the database only if the data is
  // corrupt"). Each must be a var of the plan or of its fallback; file order.
  std::vector<std::pair<std::string, std::string>> vars;
  Location where;
};

// `fallback:` the plan this one hands over to, within the same run (lock, run id, report),
// when it stopped before changing anything (`preflight`, exit 4) or failed where a failure
// leaves things as they were (`failed`, exit 1; see fallback_failed_problems). One level
// only: the fallback plan may have no fallback of its own.
struct FallbackSpec {
  std::string plan;                 // a plan name in the plans dir; "" = no fallback
  bool on_preflight = false;
  bool on_failed = false;
  std::string target;               // "" = the fallback plan's own `default`
  // What the report says when the fallback ran: what it can and cannot do in this incident
  // ("git-sql's push redeploys through Coolify's webhook: with Coolify down ...").
  std::string note;
  Location where;
};

// `offsite:` an off-host copy of the plan's dir targets, through an rclone remote
// (`NAME:bucket/path`, defined by RCLONE_CONFIG_* or an rclone config file; a `crypt` remote
// encrypts). A backup plan copies each target there once it commits and checks it there; a
// plan with a dir target lists targets from there too (plan/offsite.hpp).
struct OffsiteSpec {
  std::string remote;       // "" = no off-host copy; may use ${vars}
  std::optional<int> keep;  // how many the remote keeps after a backup; unset: all
  // RCLONE_* variables for rclone (a remote's type, endpoint and keys), values may use
  // ${secrets.*}: the credentials stay plan secrets, redacted everywhere. File order.
  std::vector<std::pair<std::string, std::string>> env;
  Location where;
};

// One entry of the plan-level `notify:` list: a notify action run at the very end of every
// run, whatever its outcome; its result goes into the report, never into the exit code.
struct NotifyCall {
  std::string action;
  YAML::Node with;
  Location where;
};

struct ReportSpec {
  std::string title;
  std::vector<std::string> contacts;
  std::vector<std::string> checklist;
  std::vector<std::string> follow_up;
  std::string lang = "en";          // en | es
};

struct Plan {
  std::filesystem::path path;
  std::string sha256;               // of the file's text: a resumed run checks it is the same plan
  int version = 1;
  std::string name;
  std::string description;
  Kind kind = Kind::Custom;
  std::optional<Millis> budget;
  std::vector<std::pair<std::string, YAML::Node>> vars;  // in file order
  std::vector<SecretSource> secrets;
  TargetSpec target;
  std::vector<Step> steps;
  std::vector<Criterion> criteria;
  MonitorSpec monitor;              // `watch` probes it
  std::optional<Millis> cooldown;   // between two `check --auto` rollbacks
  FallbackSpec fallback;
  OffsiteSpec offsite;
  std::vector<NotifyCall> notify;
  ReportSpec report;

  bool has_destructive_steps() const;
  // One past the last step of the block that starts at `first`: the end of its `parallel:`
  // group, or first + 1 for a step on its own.
  size_t block_end(size_t first) const;
};

}  // namespace rollback::plan
