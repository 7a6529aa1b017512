// Plan files -> Plan. Every problem is collected with its FILE:LINE:COL, not just the first:
// unknown keys (with did-you-mean), wrong types, missing fields, duplicate step ids,
// unknown actions, bad durations, undefined ${var} references, bad action parameters.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <rollback/plan/params.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/util/result.hpp>

namespace rollback::plan {

struct LoadResult {
  std::optional<Plan> plan;  // set only when diagnostics is empty
  Diagnostics diagnostics;
};

LoadResult load_plan(const std::filesystem::path& path, const ActionCatalog& catalog);
LoadResult load_plan_text(const std::string& text, const std::string& file_name,
                          const ActionCatalog& catalog);

// Finds a plan by name ("full" -> <plans_dir>/full.yaml or .yml) or takes a path as is.
Result<std::filesystem::path> find_plan(const std::string& name_or_path,
                                        const std::filesystem::path& plans_dir);

// The plan files (*.yaml, *.yml) directly in `plans_dir`, sorted by name; empty when the
// dir does not exist. For `rollback list` and `rollback validate` with no plan named.
std::vector<std::filesystem::path> list_plan_files(const std::filesystem::path& plans_dir);

}  // namespace rollback::plan
