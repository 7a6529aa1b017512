// The targets of a plan with their verdicts, as `rollback targets` prints them and as the
// picker shows them on a terminal: each target is checked in the scope a run would use
// (the plan's vars, --var/--vars, run.*, the target's own ${target.*}), so the table says
// what a run with that target would find.
#pragma once

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/engine/target_catalog.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/util/result.hpp>

namespace rollback::cli {

struct TargetRow {
  plan::Target target;
  plan::Verification check;
  bool incomplete = false;  // a backup began it and never finished
  // A backup plan with `keep`: what its next successful backup does with this target.
  int keep = 0;
  bool pruned_by_next_backup = false;
  std::string kept_beyond;  // why it stays although beyond `keep` (empty: it does not)
  bool is_private = true;   // no group or other permission bits
  std::string location;     // local | offsite | both; "" for a plan without offsite:
};

// Every target of the plan (engine::TargetCatalog: newest first, each proved, partials
// last, the next backup's fates), as rows of the table. `needed`: what runs still need.
Result<std::vector<TargetRow>> target_rows(const plan::Plan& plan, const plan::Scope& base,
                                           const std::map<std::string, std::string>& overrides,
                                           const std::set<std::string>& needed = {},
                                           std::string* offsite_problem = nullptr);

// The catalog's rows as the table's.
std::vector<TargetRow> table_rows(const plan::Plan& plan, std::vector<engine::CatalogRow> rows);

// The human table; `numbered` adds a first column "#" for the picker.
void print_target_table(std::FILE* out, const std::vector<TargetRow>& rows, bool numbered);
nlohmann::json target_rows_json(const std::vector<TargetRow>& rows);

}  // namespace rollback::cli
