// The one run pipeline. `run`, `resume` (and `check --auto` through `run`) hand it a plan
// whose vars are bound and whose target is resolved; it does everything a run does from
// there, in one place: refuse an unconfirmable run, take the lock, install the signal
// guard, clean up what a killed run left behind, preflight, confirm, execute, write the
// journal and the report, and clean up again whatever the run itself leaves.
#pragma once

#include <functional>
#include <set>
#include <string>

#include <rollback/actions/rehearsal.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_support.hpp>

namespace rollback::cli {

struct RunRequest {
  const plan::Plan& plan;
  PreparedRun& run;
  const RunArgs& args;
  const GlobalOptions& global;
  std::set<std::string> completed_steps;  // resume: steps an earlier attempt finished
  bool resuming = false;
  // `rollback rehearse`: the steps run against this rehearsal's throwaway copies; the lock is
  // taken preemptible, nothing asks for confirmation, and the copies are removed at the end.
  actions::Rehearsal* rehearsal = nullptr;
  // A plan with a fallback (cli/fallback.hpp): asked once the plan has stopped, its result
  // recorded. A non-empty reason hands the run over: the pipeline journals the result but
  // writes no report and sends no notification (the fallback's run does, for both) and
  // returns the exit code with handed_over set.
  std::function<std::string(engine::RunRecord&)> hand_over;
  bool handed_over = false;
  std::string hand_over_reason;
};

// Runs the request; returns the process exit code (shared/spec.md).
int run_pipeline(RunRequest& request);

}  // namespace rollback::cli
