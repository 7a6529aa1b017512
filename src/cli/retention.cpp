// The pipeline's retention duty (include/rollback/cli/retention.hpp).
#include <rollback/cli/retention.hpp>

#include <fmt/format.h>

#include <rollback/plan/retention.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

void add_names_of(const engine::RunRecord& record, std::set<std::string>& named) {
  for (const auto& value : {record.target_name, record.target_path})
    if (!value.empty()) named.insert(value);
  for (const auto& [name, value] : record.vars)
    if (!value.empty()) named.insert(value);
}

}  // namespace

std::set<std::string> targets_named_by_runs(const fs::path& state_dir) {
  std::set<std::string> named;
  std::error_code ec;
  for (fs::directory_iterator it(state_dir / "runs", ec), end; !ec && it != end; it.increment(ec)) {
    auto record = engine::read_journal(it->path() / "journal.jsonl");
    if (!record || record->dry_run) continue;
    bool unfinished = !record->ended || record->result == ExitCode::Interrupted;
    if (unfinished) add_names_of(*record, named);
  }
  return named;
}

std::string prune_after_backup(const plan::Plan& plan, PreparedRun& run, const fs::path& state_dir,
                               engine::Journal* journal) {
  const auto& spec = plan.target;
  if (plan.kind != plan::Kind::Backup || spec.from != "dir" || !spec.keep) return "";
  plan::RetentionRules rules;
  rules.keep = *spec.keep;
  rules.named_by_runs = targets_named_by_runs(state_dir);
  add_names_of(run.record, rules.named_by_runs);  // what this run itself wrote
  for (const auto& [name, value] : run.scope.vars()) rules.named_by_runs.insert(value);

  nlohmann::json retention = {{"keep", *spec.keep}};
  auto result = plan::prune_dir_targets(spec, run.scope, rules);
  if (!result) {
    retention["problems"] = nlohmann::json::array({{{"name", "(listing)"}, {"error", result.error().message}}});
    run.record.extra["retention"] = retention;
    run.record.result_message += redact(fmt::format("; retention: {}", result.error().message));
    return redact(fmt::format("retention: could not list the targets to prune: {}", result.error().message));
  }
  retention["dir"] = result->dir;
  retention["glob"] = result->glob;
  retention["pruned"] = result->pruned;
  nlohmann::json beyond = nlohmann::json::array(), problems = nlohmann::json::array();
  for (const auto& fate : result->fates)
    if (fate.kept_beyond)
      beyond.push_back({{"name", fate.target.name}, {"why", std::string(plan::to_string(*fate.kept_beyond))}});
  for (const auto& [name, error] : result->problems) problems.push_back({{"name", name}, {"error", error}});
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
                         ? fmt::format("retention: keep {}: nothing to prune in {}", *spec.keep, result->dir)
                         : fmt::format("retention: keep {}: pruned {} old target(s) in {}: {}", *spec.keep,
                                       result->pruned.size(), result->dir, names);
  for (const auto& [name, error] : result->problems) {
    line += fmt::format("\nretention: could not prune {}: {}", name, error);
    run.record.result_message += fmt::format("; retention could not prune {}", name);
  }
  return redact(line);
}

}  // namespace rollback::cli
