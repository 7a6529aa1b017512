// The targets of a plan, proved once for every user (include/rollback/engine/target_catalog.hpp).
#include <rollback/engine/target_catalog.hpp>

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

#include <rollback/plan/vars.hpp>

namespace rollback::engine {

TargetCatalog::TargetCatalog(const plan::Plan& plan, const plan::TargetSources& sources,
                             std::map<std::string, std::string> overrides)
    : plan_(plan), sources_(sources), overrides_(std::move(overrides)) {}

const plan::TargetSource* TargetCatalog::source() const { return sources_.find(plan_.target.from); }

Result<plan::Scope> TargetCatalog::scope_for(const plan::Target& target, const plan::Scope& base) const {
  plan::Scope scope = base;
  plan::bind_target(scope, target);
  RB_TRY(plan::bind_vars(plan_, scope, overrides_));
  return scope;
}

plan::Verification TargetCatalog::verify(const plan::Target& target, const plan::Scope& base) const {
  auto scope = scope_for(target, base);
  if (!scope) return {.ok = false, .problems = {scope.error().message}};
  return plan::verify_target(plan_.target, target, *scope, &sources_);
}

std::vector<plan::TargetFate> TargetCatalog::fates(const std::vector<plan::Target>& newest_first,
                                                   const plan::Scope& base, const std::set<std::string>& needed,
                                                   int upcoming) const {
  plan::RetentionRules rules{.keep = *plan_.target.keep, .named_by_runs = needed, .upcoming = upcoming};
  return plan::retention_fates(newest_first, rules,
                               [&](const plan::Target& t) { return verify(t, base).ok; });
}

Result<std::vector<CatalogRow>> TargetCatalog::rows(const plan::Scope& base,
                                                    const std::set<std::string>& needed) const {
  auto listed = list_local(base);
  if (!listed) return std::unexpected(listed.error());
  std::vector<CatalogRow> out;
  for (const auto& target : *listed) out.push_back({.target = target, .check = verify(target, base)});
  if (plan_.target.keep) {
    // The next backup adds one target the listing will show only when its name matches (a
    // plan without target.makes does not say its name: assumed to match).
    int upcoming = 1;
    if (auto name = made_name(base); name && !name->empty()) {
      auto glob = plan::interpolate(plan_.target.glob, base);
      upcoming = glob && ::fnmatch(glob->c_str(), name->c_str(), FNM_PERIOD) == 0 ? 1 : 0;
    }
    auto fate = fates(*listed, base, needed, upcoming);
    for (size_t i = 0; i < out.size() && i < fate.size(); ++i) {
      out[i].pruned_by_next_backup = fate[i].prune;
      if (fate[i].kept_beyond) out[i].kept_beyond = plan::to_string(*fate[i].kept_beyond);
    }
  }
  add_offsite(out, base);
  if (const auto* src = source(); src && src->partials)
    if (auto partials = src->partials(plan_.target, base))
      for (auto& t : *partials) {
        std::string why = t.detail.empty() ? "incomplete: its backup never finished" : t.detail;
        t.detail.clear();
        out.push_back({.target = std::move(t), .check = {.ok = false, .problems = {why}}, .incomplete = true});
      }
  return out;
}

Result<ResolvedTarget> TargetCatalog::resolve(const plan::Scope& base, const std::string& wanted) const {
  auto prove = [&](const plan::Target& t) -> plan::Verification {
    auto local = local_copy(t, base);
    if (!local) return {.ok = false, .problems = {local.error().message}};
    return verify(*local, base);
  };
  Result<plan::TargetPick> pick = [&]() -> Result<plan::TargetPick> {
    if (plan_.offsite.remote.empty())
      return plan::pick_target(plan_.target, base, sources_, wanted, prove);
    auto all = list_all(base);
    if (!all) return std::unexpected(all.error());
    return plan::pick_target_in(plan_.target, base, *all, wanted, prove);
  }();
  if (!pick) return std::unexpected(pick.error());
  auto target = local_copy(pick->target, base);
  if (!target)
    return fail(fmt::format("target {} does not verify:\n  - {}", pick->target.name,
                            target.error().message));
  auto scope = scope_for(*target, base);
  if (!scope) return std::unexpected(scope.error());
  auto check = plan::verify_target(plan_.target, *target, *scope, &sources_);
  if (!check.ok) {
    std::string problems;
    for (const auto& p : check.problems) problems += "\n  - " + p;
    return fail(fmt::format("target {} does not verify:{}", target->name, problems));
  }
  return ResolvedTarget{std::move(*target), std::move(*scope), std::move(pick->passed_over)};
}

Result<PruneOutcome> TargetCatalog::prune(const plan::Scope& base, const std::set<std::string>& needed) const {
  PruneOutcome outcome;
  const auto* src = source();
  if (!plan_.target.keep || !src || !src->prune) return outcome;
  auto listed = sources_.list(plan_.target, base);
  if (!listed) return std::unexpected(listed.error());
  outcome.fates = fates(*listed, base, needed, /*upcoming=*/0);
  for (auto it = outcome.fates.rbegin(); it != outcome.fates.rend(); ++it) {
    if (!it->prune) continue;
    if (auto pruned = src->prune(plan_.target, it->target, base); pruned) outcome.pruned.push_back(it->target.name);
    else outcome.problems.emplace_back(it->target.name, pruned.error().message);
  }
  return outcome;
}

bool TargetCatalog::makes_targets() const {
  const auto* src = source();
  return plan_.kind == plan::Kind::Backup && !plan_.target.makes.empty() && src && src->begin && src->commit;
}

Result<std::string> TargetCatalog::made_name(const plan::Scope& base) const {
  if (plan_.target.makes.empty()) return std::string();
  auto name = plan::interpolate(plan_.target.makes, base);
  if (!name) return fail(fmt::format("target.makes: {}", name.error().message));
  return *name;
}

Result<plan::Target> TargetCatalog::planned_backup(const plan::Scope& base) const {
  auto name = made_name(base);
  if (!name) return std::unexpected(name.error());
  auto dir = plan::interpolate(plan_.target.dir, base);
  if (!dir) return fail(fmt::format("target.dir: {}", dir.error().message));
  plan::Target t;
  t.name = *name;
  t.path = (std::filesystem::path(*dir) / *name).string();  // where it lands once committed
  return t;
}

Result<plan::Target> TargetCatalog::begin_backup(const plan::Scope& base,
                                                 std::vector<std::string>& removed_partials) const {
  auto name = made_name(base);
  if (!name) return std::unexpected(name.error());
  const auto* src = source();
  if (src->remove_partials) removed_partials = src->remove_partials(plan_.target, base);
  return src->begin(plan_.target, base, *name);
}

Result<plan::Target> TargetCatalog::commit_backup(const plan::Scope& base, const plan::Target& begun) const {
  return source()->commit(plan_.target, base, begun);
}

}  // namespace rollback::engine
