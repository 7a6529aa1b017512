// docker.service.rollback: Swarm's own `docker service rollback` (back to the one previous
// spec Swarm keeps), for one service or every service of a stack, then, with `wait`, until
// Swarm reports rollback_completed and the tasks run. rollback_paused is a failure naming
// Swarm's reason. Going further back than one spec is plans/swarm.yaml's job.
#include "docker_swarm_cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rollback/actions/output.hpp>

namespace rollback::actions::docker::swarm {
namespace {

struct Chosen {
  std::vector<const ServiceState*> services;  // to roll back
  std::vector<std::string> without_previous;  // of a stack: never updated, left alone
  std::vector<std::string> unchanged;         // previous spec identical to the current one
};

Result<Chosen> choose(const ActionContext& ctx, const Params& p, const Snapshot& snapshot) {
  Chosen out;
  for (const auto& s : snapshot.services) {
    if (!s.has_previous) {
      if (p.has("service"))
        return fail(fmt::format(
            "{}service {} has no previous spec: Swarm keeps exactly one spec back, and this "
            "service has not been updated since it was created",
            step_prefix(ctx), s.name));
      out.without_previous.push_back(s.short_name);
      continue;
    }
    out.services.push_back(&s);
    if (s.previous_same) out.unchanged.push_back(s.short_name);
  }
  if (out.services.empty())
    return fail(fmt::format("{}no service of {} has a previous spec to roll back to",
                            step_prefix(ctx), selection_words(p)));
  return out;
}

struct Prepared {
  SwarmInfo info;
  Snapshot snapshot;
};

Result<Prepared> prepare(ActionContext& ctx, const Params& p) {
  auto info = require_manager(ctx, p);
  if (!info) return std::unexpected(info.error());
  auto ids = selected_services(ctx, p);
  if (!ids) return std::unexpected(ids.error());
  auto snapshot = observe(ctx, p, *ids);
  if (!snapshot) return std::unexpected(snapshot.error());
  return Prepared{std::move(*info), std::move(*snapshot)};
}

Outcome run_rollback(ActionContext& ctx, const Params& p) {
  auto prepared = prepare(ctx, p);
  if (!prepared) return to_outcome(prepared.error());
  auto chosen = choose(ctx, p, prepared->snapshot);
  if (!chosen) return to_outcome(chosen.error());
  auto since = prepared->info.clock.now();
  std::vector<std::string> ids, changes;
  for (const auto* s : chosen->services) {
    auto argv = docker_argv(p);
    argv.insert(argv.end(), {"service", "rollback", "--detach", "--quiet", "--", s->name});
    if (auto done = run_checked(ctx, p, argv, {.cap = kShortCommand}); !done)
      return to_outcome(done.error());
    ids.push_back(s->id);
    changes.push_back(s->image == s->previous_image ? s->short_name
                                                    : fmt::format("{} ({} -> {})", s->short_name,
                                                                  s->image, s->previous_image));
  }
  auto outcome = Outcome::success(
      fmt::format("rolled back to Swarm's previous spec: {}", fmt::join(changes, ", ")));
  if (!chosen->without_previous.empty())
    outcome.message += fmt::format("; never updated, left as they are: {}",
                                   fmt::join(chosen->without_previous, ", "));
  if (!chosen->unchanged.empty()) {
    // Swarm keeps one spec back, and an unchanged redeploy overwrites it with the current one.
    outcome.warning = true;
    outcome.message += fmt::format(
        "; previous spec identical to the current one (an unchanged redeploy replaced it), "
        "so nothing changed for: {}",
        fmt::join(chosen->unchanged, ", "));
  }
  if (wait_budget(ctx, p) <= Millis(0)) return outcome;
  return wait_converged(ctx, p, ids, Goal::Rollback, prepared->info.clock, since,
                        std::move(outcome));
}

Outcome preflight_rollback(ActionContext& ctx, const Params& p) {
  auto prepared = prepare(ctx, p);
  if (!prepared) return to_outcome(prepared.error());
  auto chosen = choose(ctx, p, prepared->snapshot);
  if (!chosen) return to_outcome(chosen.error());
  return Outcome::success(
      fmt::format("{} service(s) with a previous spec", chosen->services.size()));
}

std::string describe_rollback(const Params& p) {
  std::string names =
      p.has("stack") ? "<every service of stack " + p.str("stack") + " with a previous spec>" : "";
  for (const auto& s : p.list("service")) names += (names.empty() ? "" : " ") + s;
  auto text =
      proc::display_command(docker_argv(p)) + " service rollback --detach --quiet -- " + names;
  if (p.has("wait") && p.str("wait") != "false")
    text += fmt::format("; wait for rollback_completed and running tasks ({})", p.str("wait"));
  return text;
}

}  // namespace

void register_service_rollback_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.service.rollback",
      .summary = "roll Swarm services back to their previous spec (docker service rollback) and "
                 "wait for it",
      .params = with_engine(with_wait({param("service", ParamType::StringList).names(plan::Names::Identifier)
                     .doc("the services to roll back; each must have a previous spec (instead of stack)"),
                 param("stack").names(plan::Names::Identifier)
                     .doc("roll back every service of this stack that has a previous spec (instead of service)")},
                                               "wait for rollback_completed, tasks running")),
      .destructive = true,
      .read_only = false,
      // A second `docker service rollback` swaps back to the spec the first one left.
      .rerun_safe = false,
      .validate =
          [](ParamCheck& check) {
            validate_service_selection(check);
            validate_wait(check);
          },
      .describe = describe_rollback,
      .preflight = preflight_rollback,
      .run = run_rollback,
  });
}

}  // namespace rollback::actions::docker::swarm
