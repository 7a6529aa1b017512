// What a backup run does with the target it makes (src/engine/run_session.hpp): built under
// a hidden name, put in place and proved only when every step passed, then retention.
#include "run_session.hpp"

#include <fmt/format.h>

#include <rollback/engine/state_store.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine::detail {

namespace {

TargetCatalog catalog_of(const RunDeps& deps, const PipelineRequest& r) {
  return TargetCatalog(r.plan, deps.registry.targets(),
                       collect_overrides(r.args).value_or(std::map<std::string, std::string>{}));
}

void add_names_of(const RunRecord& record, std::set<std::string>& named) {
  for (const auto& value : {record.target_name, record.target_path})
    if (!value.empty()) named.insert(value);
  for (const auto& [name, value] : record.vars)
    if (!value.empty()) named.insert(value);
}

}  // namespace

Status bind_made_target(const RunDeps& deps, PipelineRequest& r) {
  auto catalog = catalog_of(deps, r);
  if (!catalog.makes_targets()) return ok();
  std::vector<std::string> removed;
  Result<plan::Target> made = fail("");
  if (r.resuming && !r.run.record.target_path.empty()) {
    // A resumed backup goes on writing into the target it began.
    plan::Target begun{.name = r.run.record.target_name, .path = r.run.record.target_path};
    std::error_code ec;
    if (!std::filesystem::is_directory(begun.path, ec))
      return fail(fmt::format("the unfinished backup {} is gone ({}); run the backup again", begun.name, begun.path));
    made = begun;
  } else {
    made = r.args.dry_run ? catalog.planned_backup(r.run.scope) : catalog.begin_backup(r.run.scope, removed);
  }
  if (!made) return std::unexpected(made.error());
  for (const auto& name : removed)
    deps.observer.note(fmt::format("removed the unfinished backup {} that a killed run left", name));
  auto scope = catalog.scope_for(*made, r.run.scope);
  if (!scope) return std::unexpected(scope.error());
  r.run.scope = std::move(*scope);
  r.run.target = *made;
  r.run.record.target_name = made->name;
  r.run.record.target_path = made->path;
  return ok();
}

ExitCode commit_made_target(const RunDeps& deps, PipelineRequest& r, Journal* journal, ExitCode code) {
  auto catalog = catalog_of(deps, r);
  if (!catalog.makes_targets() || !r.run.target) return code;
  auto& record = r.run.record;
  // The executor journaled success already: the corrected end is journaled after it (the
  // journal's last run_finished is the one `history` and `resume` read).
  auto failed = [&](const std::string& why) {
    record.result = ExitCode::StepFailed;
    record.result_message += redact("; but " + why);
    if (journal) (void)journal->append(run_finished_event(record));
    return ExitCode::StepFailed;
  };
  auto committed = catalog.commit_backup(r.run.scope, *r.run.target);
  if (!committed) return failed(committed.error().message);
  record.target_path = committed->path;
  r.run.target = *committed;
  plan::bind_target(r.run.scope, *committed);
  auto check = catalog.verify(*committed, r.run.scope);
  if (journal)
    (void)journal->append({{"event", "target_committed"}, {"name", committed->name}, {"path", committed->path},
                           {"verifies", check.ok}, {"problems", check.problems}});
  if (check.ok) return code;
  return failed(fmt::format("the backup {} does not verify: {}", committed->name,
                            check.problems.empty() ? "" : check.problems.front()));
}

Result<std::set<std::string>> targets_still_needed(const RunDeps& deps, const PreparedRun& run) {
  // Every run that is running or that `resume` would continue (exit 1 included) keeps its
  // target: the one rule, StateStore::targets_needed.
  auto needed = StateStore(deps.state_dir).targets_needed();
  if (!needed) return needed;
  add_names_of(run.record, *needed);  // what this run itself wrote
  for (const auto& [name, value] : run.scope.vars()) needed->insert(value);
  return needed;
}

std::string prune_after_backup(const RunDeps& deps, const plan::Plan& plan, PreparedRun& run, Journal* journal) {
  const auto& spec = plan.target;
  if (plan.kind != plan::Kind::Backup || !spec.keep) return "";
  auto needed = targets_still_needed(deps, run);
  if (!needed) {
    run.record.result_message += redact(fmt::format("; retention skipped: {}", needed.error().message));
    return redact(
        fmt::format("retention: skipped, the runs that may still need targets cannot be read: {}", needed.error().message));
  }

  nlohmann::json retention = {{"keep", *spec.keep}};
  auto result = TargetCatalog(plan, deps.registry.targets()).prune(run.scope, *needed);
  if (!result) {
    retention["problems"] = nlohmann::json::array({{{"name", "(listing)"}, {"error", result.error().message}}});
    run.record.extra["retention"] = retention;
    run.record.result_message += redact(fmt::format("; retention: {}", result.error().message));
    return redact(fmt::format("retention: could not list the targets to prune: {}", result.error().message));
  }
  nlohmann::json beyond = nlohmann::json::array(), problems = nlohmann::json::array();
  for (const auto& fate : result->fates)
    if (fate.kept_beyond)
      beyond.push_back({{"name", fate.target.name}, {"why", std::string(plan::to_string(*fate.kept_beyond))}});
  for (const auto& [name, error] : result->problems) problems.push_back({{"name", name}, {"error", error}});
  retention["pruned"] = result->pruned;
  retention["kept_beyond"] = beyond;
  retention["problems"] = problems;
  run.record.extra["retention"] = retention;
  if (journal) {
    auto event = retention;
    event["event"] = "targets_pruned";
    (void)journal->append(std::move(event));
  }
  std::string names;
  for (const auto& name : result->pruned) names += (names.empty() ? "" : ", ") + name;
  std::string line = result->pruned.empty()
                         ? fmt::format("retention: keep {}: nothing to prune", *spec.keep)
                         : fmt::format("retention: keep {}: pruned {} old target(s): {}", *spec.keep,
                                       result->pruned.size(), names);
  for (const auto& [name, error] : result->problems) {
    line += fmt::format("\nretention: could not prune {}: {}", name, error);
    run.record.result_message += fmt::format("; retention could not prune {}", name);
  }
  return redact(line);
}

}  // namespace rollback::engine::detail
