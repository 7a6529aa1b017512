// Retention of dir targets (include/rollback/plan/retention.hpp).
#include <rollback/plan/retention.hpp>

#include <fmt/format.h>

#include <filesystem>

#include "target_dir.hpp"

namespace rollback::plan {
namespace fs = std::filesystem;

namespace {

constexpr auto kPreRollbackGrace = std::chrono::hours(24 * 7);
constexpr std::string_view kPruningPrefix = ".pruning-";

std::string normal(const std::string& path) {
  std::string text = fs::path(path).lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

bool named_by_a_run(const Target& target, const std::set<std::string>& named) {
  if (named.contains(target.name)) return true;
  if (target.path.empty()) return false;
  std::string path = normal(target.path);
  for (const auto& name : named)
    if (name.find('/') != std::string::npos && normal(name) == path) return true;
  return false;
}

// Leftovers of a prune that was cut short: hidden, so no glob lists them; removed now.
void finish_cut_short(const fs::path& dir, PruneResult& result) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(kPruningPrefix)) continue;
    std::error_code removed;
    fs::remove_all(it->path(), removed);
    if (removed) result.problems.emplace_back(name, removed.message());
  }
}

}  // namespace

std::string_view to_string(KeptBecause why) {
  switch (why) {
    case KeptBecause::NewestVerifying: return "newest_verifying";
    case KeptBecause::NamedByRun: return "named_by_run";
    case KeptBecause::RecentPreRollback: return "recent_pre_rollback";
  }
  return "named_by_run";
}

std::vector<TargetFate> retention_fates(const std::vector<Target>& newest_first, const RetentionRules& rules,
                                        const std::function<bool(const Target&)>& verifies) {
  std::vector<TargetFate> fates;
  for (const auto& target : newest_first) fates.push_back({target, false, std::nullopt});
  const size_t kept = static_cast<size_t>(std::max(0, rules.keep - rules.upcoming));
  if (fates.size() <= kept) return fates;
  // The newest target that verifies stays whatever N says: a run of broken backups must not
  // push the last good one out. Backups about to be added are assumed to verify.
  std::optional<size_t> newest_good;
  if (rules.upcoming == 0)
    for (size_t i = 0; i < fates.size() && !newest_good; ++i)
      if (verifies && verifies(fates[i].target)) newest_good = i;
  for (size_t i = kept; i < fates.size(); ++i) {
    auto& fate = fates[i];
    const Target& t = fate.target;
    if (newest_good && *newest_good == i) fate.kept_beyond = KeptBecause::NewestVerifying;
    else if (named_by_a_run(t, rules.named_by_runs)) fate.kept_beyond = KeptBecause::NamedByRun;
    else if (t.name.starts_with("pre-rollback-") && rules.now - t.created < kPreRollbackGrace)
      fate.kept_beyond = KeptBecause::RecentPreRollback;
    else fate.prune = true;
  }
  return fates;
}

Result<PruneResult> prune_dir_targets(const TargetSpec& spec, const Scope& scope, const RetentionRules& rules) {
  if (spec.from != "dir") return fail("retention applies to from: dir targets only");
  PruneResult result;
  auto dir = interpolate(spec.dir, scope);
  if (!dir) return fail(fmt::format("target.dir: {}", dir.error().message));
  auto glob = interpolate(spec.glob, scope);
  if (!glob) return fail(fmt::format("target.glob: {}", glob.error().message));
  result.dir = *dir;
  result.glob = *glob;
  auto listed = detail::list_dir_targets(spec, scope);
  if (!listed) return std::unexpected(listed.error());
  finish_cut_short(*dir, result);
  result.fates = retention_fates(*listed, rules, [&](const Target& t) {
    return detail::verify_dir_target(spec, t, scope).empty();
  });
  for (auto it = result.fates.rbegin(); it != result.fates.rend(); ++it) {
    if (!it->prune) continue;
    const Target& t = it->target;
    fs::path from(t.path);
    // Only an entry of the target dir itself, by its own name: nothing else is ever removed.
    if (normal(from.parent_path().string()) != normal(*dir) ||
        from.filename().string() != t.name) {
      result.problems.emplace_back(t.name, fmt::format("{} is not an entry of {}", t.path, *dir));
      continue;
    }
    fs::path hidden = from.parent_path() / (std::string(kPruningPrefix) + t.name);
    std::error_code ec;
    fs::rename(from, hidden, ec);
    if (ec) {
      result.problems.emplace_back(t.name, fmt::format("cannot move it aside: {}", ec.message()));
      continue;
    }
    fs::remove_all(hidden, ec);
    if (ec) result.problems.emplace_back(t.name, fmt::format("moved to {} but not removed: {}", hidden.string(), ec.message()));
    // A file target's checksum beside it (pg.dump's NAME.sha256) goes with it.
    fs::path sidecar = from;
    sidecar += ".sha256";
    if (fs::is_regular_file(sidecar, ec)) fs::remove(sidecar, ec);
    result.pruned.push_back(t.name);
  }
  return result;
}

}  // namespace rollback::plan
