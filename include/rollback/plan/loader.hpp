// Plan files -> Plan. Every problem is collected with its FILE:LINE:COL, not just the first:
// unknown keys (with did-you-mean), wrong types, missing fields, duplicate step ids,
// unknown actions, bad durations, undefined ${var} references, bad action parameters.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
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

// Finds a plan by name ("full" -> <dir>/full.yaml or .yml, in the first dir of the search
// path that has it) or takes a path as is.
Result<std::filesystem::path> find_plan(const std::string& name_or_path,
                                        const std::vector<std::filesystem::path>& search_path);
Result<std::filesystem::path> find_plan(const std::string& name_or_path,
                                        const std::filesystem::path& plans_dir);

// The plan files (*.yaml, *.yml) directly in the search path's dirs, one per name (the first
// dir's), sorted by name; empty when no dir exists. For `list` and `validate` with no plan.
std::vector<std::filesystem::path> list_plan_files(const std::vector<std::filesystem::path>& search_path);
std::vector<std::filesystem::path> list_plan_files(const std::filesystem::path& plans_dir);

// "dir1, dir2": a search path in a message.
std::string search_path_text(const std::vector<std::filesystem::path>& search_path);

// [A-Za-z0-9][A-Za-z0-9._-]*: what a plan's `name:` may be (it names run folders).
bool is_plan_name(std::string_view name);

}  // namespace rollback::plan
