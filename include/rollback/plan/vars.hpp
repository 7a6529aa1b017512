// Binding a plan's vars and secrets into a Scope at run start, and reading --vars files.
//
// Order at run start: scope.set_builtin("run.id"/"run.started"), load_secrets(),
// bind_vars(), resolve_target() (the target section may use vars), bind_target(), then
// bind_vars() again so vars that use ${target.*} get their values.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/util/result.hpp>

namespace rollback::plan {

// Resolves the plan's vars in dependency order (a var may use other vars, env.*, run.*,
// target.*, secrets.*). `overrides` (--var / --vars) replace a var's value before anything
// that uses it is resolved; their values are taken literally. Vars that need ${target.*}
// (directly or through another var) are left unset while the scope has no target.name.
// Fails for an override of an undeclared var (with did-you-mean; the value is never shown)
// and for a value that cannot be resolved, naming the var and its file:line:col; every
// such problem is listed, one per line.
Status bind_vars(const Plan& plan, Scope& scope,
                 const std::map<std::string, std::string>& overrides);

// Reads every secret ({env: NAME} or {file: PATH}, the path may use ${env.*} and ${run.*};
// one trailing newline is stripped from files) into the scope, which registers each value for
// redaction. A missing or empty secret fails naming the secret and its source, never a value; every
// problem is listed.
Status load_secrets(const Plan& plan, Scope& scope);

// A --vars FILE: a YAML map of names to scalar values. Errors name file:line:col.
Result<std::map<std::string, std::string>> load_vars_file(const std::filesystem::path& path);

// "KEY=VALUE" from --var into `into`; fails when there is no '=' or no key.
Status parse_var_override(const std::string& text, std::map<std::string, std::string>& into);

}  // namespace rollback::plan
