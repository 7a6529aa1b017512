// A JSON Schema (draft 2020-12) for plan files, built from the loader's own key lists and
// the action catalog (every action, its parameters, their types, choices and which are
// required), so an editor checks plans as `rollback validate` does and cannot drift from it.
#pragma once

#include <nlohmann/json.hpp>

#include <rollback/plan/params.hpp>

namespace rollback::plan {

nlohmann::json plan_json_schema(const ActionCatalog& catalog);

}  // namespace rollback::plan
