// The targets of a plan with their verdicts, as `rollback targets` prints them and as the
// picker shows them on a terminal: each target is checked in the scope a run would use
// (the plan's vars, --var/--vars, run.*, the target's own ${target.*}), so the table says
// what a run with that target would find.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/util/result.hpp>

namespace rollback::cli {

struct TargetRow {
  plan::Target target;
  plan::Verification check;
  // A backup plan with `keep`: what its next successful backup does with this target.
  int keep = 0;
  bool pruned_by_next_backup = false;
  std::string kept_beyond;  // why it stays although beyond `keep` (empty: it does not)
  bool is_private = true;   // no group or other permission bits
};

// `base` with the target's builtins set and the vars that use ${target.*} bound again
// (overrides as the run got them). Fails naming the var that cannot be bound.
Result<plan::Scope> scope_with_target(const plan::Plan& plan, const plan::Scope& base, const plan::Target& target,
                                      const std::map<std::string, std::string>& overrides);

// `require`, SHA256SUMS/manifest.json and the adapters' checks (images gone) of one target,
// in its own scope.
plan::Verification check_target(const plan::Plan& plan, const plan::Target& target, const plan::Scope& target_scope);

// Every target the plan's source lists, newest first, each with its verdict.
Result<std::vector<TargetRow>> target_rows(const plan::Plan& plan, const plan::Scope& base,
                                           const std::map<std::string, std::string>& overrides);

// The human table; `numbered` adds a first column "#" for the picker.
void print_target_table(std::FILE* out, const std::vector<TargetRow>& rows, bool numbered);
nlohmann::json target_rows_json(const std::vector<TargetRow>& rows);

}  // namespace rollback::cli
