// Retention (`target: {keep: N}`): after a successful run of a `kind: backup` plan, the
// targets beyond the newest N are removed, except those still needed. This is the rule
// only; engine::TargetCatalog applies it to any target source that can prune, and
// `rollback targets` shows the same fates, so an operator sees what the next backup removes.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/util/result.hpp>

namespace rollback::plan {

// Why a target beyond the newest N is kept all the same.
enum class KeptBecause {
  NewestVerifying,    // the newest target that verifies: never the last good backup
  NamedByRun,         // a running or interrupted run names it (its target, or a var's value)
  RecentPreRollback,  // a `pre-rollback-*` made in the last 7 days: the way back from a rollback
};
// "newest_verifying", "named_by_run", "recent_pre_rollback" (the JSON report's words).
std::string_view to_string(KeptBecause why);

struct RetentionRules {
  int keep = 0;
  // Names and paths of targets that runs still need (engine::StateStore::targets_needed).
  std::set<std::string> named_by_runs;
  // How many targets a backup is about to add before pruning (`rollback targets` asks
  // about the next backup: 1). Those are assumed to verify, so the existing newest one that
  // verifies has no protection of its own then.
  int upcoming = 0;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct TargetFate {
  Target target;
  bool prune = false;
  std::optional<KeptBecause> kept_beyond;  // beyond the newest N, kept for this reason
};

// The fate of each target, given newest first (as the target sources list them). The
// newest keep - upcoming are kept; older ones are pruned unless protected. `verifies` is
// asked newest first, and only while no target has verified and some target is beyond N
// (it may read every byte of a backup).
std::vector<TargetFate> retention_fates(const std::vector<Target>& newest_first, const RetentionRules& rules,
                                        const std::function<bool(const Target&)>& verifies);

}  // namespace rollback::plan
