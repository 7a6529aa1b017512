// A plan and its `fallback:` plan, checked and bound together: what neither plan alone can
// tell (the loader checks each one by itself).
#pragma once

#include <map>
#include <string>

#include <rollback/plan/location.hpp>
#include <rollback/plan/params.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/util/result.hpp>

namespace rollback::plan {

// What `fallback: failed` asks of a step, the same at load time and at run time: the step's
// use of its action reads only; or, besides, a failure of it leaves things as they were
// (ActionSchema::failure_changes_nothing). An action the catalog does not know is neither.
bool step_reads_only(const ActionCatalog& catalog, const Step& step);
bool step_failure_changes_nothing(const ActionCatalog& catalog, const Step& step);

// The pair's problems, located in the first plan: the fallback has a fallback of its own (no
// chains, no loops), or a criterion's `vars:` names a var that neither plan declares.
Diagnostics check_fallback_pair(const Plan& first, const Plan& fallback);

// A plan's criterion `vars:` when it has no fallback: each must be one of its own vars.
Diagnostics check_criterion_vars(const Plan& plan);

// Of the overrides given for a run (--var, --vars, a criterion's vars), the ones `plan`
// declares. With `other` (the other plan of a fallback pair), a name that neither plan
// declares is an error; without it, every name must be the plan's own.
Result<std::map<std::string, std::string>> overrides_for(const Plan& plan,
                                                         const std::map<std::string, std::string>& given,
                                                         const Plan* other);

}  // namespace rollback::plan
