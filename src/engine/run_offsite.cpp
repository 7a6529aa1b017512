// A backup's off-host copy (`offsite:`, plan/offsite.hpp): once the target committed and
// verified, it is copied to the remote and checked there; then the remote keeps its own
// `keep`. A failed copy fails the backup, and the verified local copy stays.
#include "run_session.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include <rollback/plan/offsite.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine::detail {


ExitCode push_offsite(const RunDeps& deps, PipelineRequest& r, Journal* journal, ExitCode code) {
  // A restore plan's offsite: is where its targets may come from; only a backup pushes.
  if (r.plan.kind != plan::Kind::Backup || r.plan.offsite.remote.empty() || !r.run.target)
    return code;
  auto& record = r.run.record;
  auto failed = [&](const std::string& why) {
    record.result = ExitCode::StepFailed;
    record.result_message += redact(fmt::format("; but the off-host copy failed: {}; the verified local copy stays "
                                                "at {}",
                                                why, r.run.target->path));
    record.extra["offsite"] = {{"remote", r.plan.offsite.remote}, {"ok", false}, {"error", redact(why)}};
    if (journal) (void)journal->append(run_finished_event(record));
    deps.observer.note(redact("off-host copy failed: " + why));
    return ExitCode::StepFailed;
  };
  auto remote = plan::bind_offsite(r.plan, r.run.scope);
  if (!remote) return failed(remote.error().message);
  if (!*remote) return code;  // offsite.remote bound empty: no off-host copy this run
  const auto* transport = deps.registry.targets().offsite();
  if (!transport) return failed("no off-host transport is available in this build");
  const auto& target = *r.run.target;
  auto pushed = transport->push(**remote, target.path, target.name);
  if (!pushed) return failed(pushed.error().message);
  record.extra["offsite"] = {{"remote", (*remote)->remote}, {"ok", true},   {"name", target.name},
                             {"files", pushed->files},        {"bytes", pushed->bytes}, {"checked", pushed->method}};
  if (journal)
    (void)journal->append({{"event", "offsite_copied"}, {"remote", (*remote)->remote}, {"name", target.name},
                           {"files", pushed->files}, {"bytes", pushed->bytes}, {"checked", pushed->method}});
  deps.observer.note(redact(fmt::format("off-host copy: {} at {} ({} file(s), {}, checked there by {})",
                                        target.name, plan::offsite_path((*remote)->remote, target.name), pushed->files,
                                        human_size(pushed->bytes), pushed->method)));
  return code;
}

// The remote's own retention: its newest `keep` complete copies stay, and every copy a run
// still needs (the same rule as the local targets), whatever its age.
std::string prune_offsite(const RunDeps& deps, const plan::Plan& plan, PreparedRun& run, Journal* journal) {
  if (plan.kind != plan::Kind::Backup || !plan.offsite.keep) return "";
  auto needed = targets_still_needed(deps, run);
  if (!needed) return redact("off-host retention: skipped, the runs that may still need targets cannot be read: " +
                             needed.error().message);
  auto remote = plan::bind_offsite(plan, run.scope);
  const auto* transport = deps.registry.targets().offsite();
  if (!remote || !*remote || !transport) return "";
  auto listed = transport->list(**remote);
  if (!listed) return redact("off-host retention: could not list the remote: " + listed.error().message);
  std::vector<plan::OffsiteTarget> copies;
  for (const auto& c : *listed)
    if (c.complete) copies.push_back(c);
  std::sort(copies.begin(), copies.end(), [](const auto& a, const auto& b) { return a.modified > b.modified; });
  std::vector<std::string> pruned, problems;
  for (size_t i = static_cast<size_t>(*plan.offsite.keep); i < copies.size(); ++i) {
    if (needed->contains(copies[i].name) || copies[i].name == run.record.target_name) continue;
    if (auto gone = transport->remove(**remote, copies[i].name); gone) pruned.push_back(copies[i].name);
    else problems.push_back(fmt::format("{}: {}", copies[i].name, gone.error().message));
  }
  run.record.extra["offsite_retention"] = {{"keep", *plan.offsite.keep}, {"pruned", pruned}, {"problems", problems}};
  if (journal)
    (void)journal->append({{"event", "offsite_pruned"}, {"keep", *plan.offsite.keep}, {"pruned", pruned},
                           {"problems", problems}});
  std::string line = pruned.empty() ? fmt::format("off-host retention: keep {}: nothing to prune", *plan.offsite.keep)
                                    : fmt::format("off-host retention: keep {}: pruned {}", *plan.offsite.keep,
                                                  fmt::join(pruned, ", "));
  for (const auto& p : problems) line += "\noff-host retention: could not prune " + p;
  return redact(line);
}

}  // namespace rollback::engine::detail
