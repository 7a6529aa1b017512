// The retention rule, for any target source (include/rollback/plan/retention.hpp).
#include <rollback/plan/retention.hpp>

#include <fmt/format.h>

#include <filesystem>


namespace rollback::plan {
namespace fs = std::filesystem;

namespace {

constexpr auto kPreRollbackGrace = std::chrono::hours(24 * 7);

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

}  // namespace rollback::plan
