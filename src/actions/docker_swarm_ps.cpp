// docker.service.ps: how the services of a stack (or named services) stand now: tasks of
// the current spec running against the desired count, update state. Read-only: a verify
// step, and a `check` criterion ("replicas below desired for 2m") with expect_converged.
#include "docker_swarm_cli.hpp"

#include <fmt/format.h>

namespace rollback::actions::docker::swarm {
namespace {

Outcome run_ps(ActionContext& ctx, const Params& p) {
  auto ids = selected_services(ctx, p);
  if (!ids) return to_outcome(ids.error());
  auto snapshot = observe(ctx, p, *ids);
  if (!snapshot) return to_outcome(snapshot.error());
  // Observing needs no engine clock: no hold period, no "since".
  auto verdicts = judge_all(
      *snapshot, JudgeOptions{.goal = Goal::Observe, .now = std::chrono::system_clock::now()});
  Outcome outcome;
  add_observations(outcome, *snapshot, verdicts);
  std::string behind;
  size_t converged = 0;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    if (verdicts[i].state == Convergence::Converged)
      ++converged;
    else
      behind += fmt::format("{}{}: {}", behind.empty() ? "" : "; ",
                            snapshot->services[i].short_name, verdicts[i].detail);
  }
  outcome.message = fmt::format("{}: {} of {} service(s) converged", selection_words(p), converged,
                                verdicts.size());
  if (p.flag("expect_converged") && !behind.empty()) {
    outcome.ok = false;
    // Swarm may still get there on its own: a later probe can see it converged.
    outcome.transient = true;
    outcome.message =
        fmt::format("{}{} not converged: {}", step_prefix(ctx), selection_words(p), behind);
  }
  return outcome;
}

std::string describe_ps(const Params& p) {
  auto text = "docker service inspect + docker service ps (" + selection_words(p) + ")";
  if (p.flag("expect_converged"))
    text +=
        "; expect every service converged (replicas of the current spec running, no update in "
        "progress or paused)";
  return text;
}

}  // namespace

void register_service_ps_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.service.ps",
      .summary = "Swarm services of a stack (or named ones): replicas running vs desired; fails "
                 "unless converged when asked",
      .params = with_engine({param("stack").names(plan::Names::Identifier)
                     .doc("every service whose com.docker.stack.namespace label is this stack (instead of service)"),
                 param("service", ParamType::StringList).names(plan::Names::Identifier)
                     .doc("one or more service names (instead of stack)"),
                 param("expect_converged", ParamType::Bool)
                     .doc("fail (transient) unless every service has converged (default false)")}),
      .destructive = false,
      .read_only = true,
      .rerun_safe = true,
      .validate = validate_service_selection,
      .describe = describe_ps,
      .run = run_ps,
  });
}

}  // namespace rollback::actions::docker::swarm
