// One answer to "which targets exist, which are good, which may go": the plan's targets
// from its registered source (plan::TargetSource: dir, git, coolify, ...), each proved by
// the one proof (plan::verify_target with the target bound), for every user alike:
// `targets`, --target resolution and preflight, rehearse, and retention after a backup.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/plan/retention.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/util/result.hpp>

namespace rollback::engine {

struct CatalogRow {
  plan::Target target;
  plan::Verification check;
  bool incomplete = false;             // a backup began it and never committed it
  bool pruned_by_next_backup = false;  // plans with target.keep
  std::string kept_beyond;             // plan::to_string(KeptBecause), "" when not
  // A plan with `offsite:`: "local", "offsite" (only on the remote: a rollback downloads and
  // proves it first) or "both". "" for a plan without.
  std::string location;
};

struct ResolvedTarget {
  plan::Target target;
  plan::Scope scope;                     // the run's scope with the target bound
  std::vector<std::string> passed_over;  // newer targets `latest`/`previous` skipped, and why
};

// An off-host-only target a run downloaded and proved (it stays as a local copy).
struct OffsiteDownload {
  std::string name;
  std::string remote;   // where it came from: "<remote>/<name>"
  std::string kept_at;  // the local copy
  unsigned long long bytes = 0;
  int files = 0;
  std::string checked;  // how the push checked the copy there ("md5", "cryptcheck", ...)
  double seconds = 0;
};

struct PruneOutcome {
  std::vector<plan::TargetFate> fates;                        // newest first
  std::vector<std::string> pruned;                            // oldest first
  std::vector<std::pair<std::string, std::string>> problems;  // name, why it stayed
};

class TargetCatalog {
 public:
  // `overrides`: the run's --var/--vars values, bound again once a target is (vars that use
  // ${target.*}).
  TargetCatalog(const plan::Plan& plan, const plan::TargetSources& sources,
                std::map<std::string, std::string> overrides = {});

  // `base` with the target's ${target.*} bound and the plan's vars bound again.
  Result<plan::Scope> scope_for(const plan::Target& target, const plan::Scope& base) const;
  // The one proof of a target.
  plan::Verification verify(const plan::Target& target, const plan::Scope& base) const;

  // Every target newest first, each proved, then the partials (incomplete). Plans with
  // target.keep also get what the next backup would prune (`needed`: what runs still need).
  Result<std::vector<CatalogRow>> rows(const plan::Scope& base, const std::set<std::string>& needed) const;
  // Why the last rows() could not list the off-host copies ("" when it could, or none).
  const std::string& offsite_problem() const { return offsite_problem_; }

  // --target (name, prefix, latest, previous), proved; an error when it does not verify.
  // With `offsite:`, an off-host-only target is one to choose from too: it is downloaded
  // into the target dir (after a room check), proved whole there, and kept.
  Result<ResolvedTarget> resolve(const plan::Scope& base, const std::string& wanted) const;
  // What resolve() downloaded.
  const std::vector<OffsiteDownload>& downloads() const { return downloads_; }

  // Retention after a successful backup: the targets beyond target.keep, except the newest
  // that verifies and those `needed` (and recent pre-rollback ones), removed through the
  // source's prune, oldest first. Nothing for a plan without keep or a source that cannot.
  Result<PruneOutcome> prune(const plan::Scope& base, const std::set<std::string>& needed) const;

  // A backup plan with target.makes: where this run builds its target (removing the
  // partials killed backups left), then putting it in place. `name` is target.makes bound.
  bool makes_targets() const;
  Result<std::string> made_name(const plan::Scope& base) const;
  Result<plan::Target> begin_backup(const plan::Scope& base, std::vector<std::string>& removed_partials) const;
  // Where the target lands, without making anything (a dry run).
  Result<plan::Target> planned_backup(const plan::Scope& base) const;
  Result<plan::Target> commit_backup(const plan::Scope& base, const plan::Target& begun) const;

 private:
  const plan::Plan& plan_;
  const plan::TargetSources& sources_;
  std::map<std::string, std::string> overrides_;
  mutable std::string offsite_problem_;
  mutable std::vector<OffsiteDownload> downloads_;
  const plan::TargetSource* source() const;
  void add_offsite(std::vector<CatalogRow>& rows, const plan::Scope& base) const;
  // target_download.cpp: the source's listing, empty when a plan with offsite: finds its
  // target dir gone (the host lost it; the remote still lists); the remote's complete copies
  // whose names match the glob, as offsite_only targets; the local targets and the copies
  // only the remote holds, joined newest first.
  Result<std::vector<plan::Target>> list_local(const plan::Scope& base) const;
  Result<std::vector<plan::Target>> offsite_copies(const plan::Scope& base) const;
  Result<std::vector<plan::Target>> list_all(const plan::Scope& base) const;
  // The target as a local folder: itself, or an off-host-only one downloaded and proved.
  Result<plan::Target> local_copy(const plan::Target& target, const plan::Scope& base) const;
  Result<plan::Target> download(const plan::Target& target, const plan::Scope& base) const;
  std::vector<plan::TargetFate> fates(const std::vector<plan::Target>& newest_first, const plan::Scope& base,
                                      const std::set<std::string>& needed, int upcoming) const;
};

}  // namespace rollback::engine
