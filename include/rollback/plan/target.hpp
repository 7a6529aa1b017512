// Rollback targets: what a plan can restore to. For `from: dir` a target is an entry of
// the target dir matching the glob (a backup folder such as staging-20250127-180000).
// `from: git` and `from: coolify` sources come with their adapters (TargetSources).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/offsite.hpp>
#include <rollback/plan/params.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/util/result.hpp>
#include <string_view>

namespace rollback::plan {

struct Target {
  std::string name;                 // "staging-20250127-180000", a commit, a deployment uuid
  std::string path;                 // dir targets: the folder; others: "" or a URL
  std::chrono::system_clock::time_point created{};
  std::optional<unsigned long long> size_bytes;
  std::string detail;               // commit subject, deployment status...
  bool current = false;             // what is running now (git HEAD, Coolify's current)
  std::string commit;               // git targets: the full hash (${target.commit})
  // Dir targets of a plan with `offsite:`: only the remote holds it (path is where it is
  // there). engine::TargetCatalog downloads it and proves it before it is used.
  bool offsite_only = false;
};

struct Verification {
  bool ok = true;
  std::vector<std::string> problems;  // "missing docker-compose.yml", "SHA256SUMS: x.tar.gz differs"
};

// Lists targets newest first, in the source's own order (git history, deployment list);
// `previous` is the one after the current one in that order. `scope` resolves ${vars} in
// the target section.
using TargetLister = std::function<Result<std::vector<Target>>(const TargetSpec&, const Scope&)>;

// A check an adapter adds to every target's verification (docker: the images the target's
// manifest.json recorded are still on the host). `scope` has the target bound. Returns the
// problems, each a short sentence ("image gone: service api (app:v2, sha256:1f2e...)").
using TargetCheck = std::function<std::vector<std::string>(const TargetSpec&, const Target&, const Scope&)>;

// One `from:` kind: how its targets are listed and, where it applies, proved, pruned and
// made. Every member but `list` is optional; engine::TargetCatalog is the one user of them
// (targets, retention, preflight and rehearse all go through it).
struct TargetSource {
  TargetLister list;  // newest first; never a partial (an unfinished backup)
  // The parameters `target.with` takes, checked by the loader like a step's `with:` (unknown,
  // missing, literal shapes, validate) so a plan's mistake is found at load with its line.
  // Unset: the loader leaves target.with to `list` (git, coolify).
  std::optional<ActionSchema> with;
  // This source's own proof of one target (dir: `require`, checksums, every archive read
  // whole), one sentence per problem. Unset: each `require` entry is a host path or glob that
  // must match something. TargetChecks run after it in either case.
  std::function<std::vector<std::string>(const TargetSpec&, const Target&, const Scope&)> verify;
  // Removes one target for retention. Unset: retention leaves this source alone.
  std::function<Status(const TargetSpec&, const Target&, const Scope&)> prune;
  // Targets a backup began and did not commit (it was killed): shown as incomplete, never
  // resolved, removed by the next backup (remove_partials, under the run lock).
  TargetLister partials;
  std::function<std::vector<std::string>(const TargetSpec&, const Scope&)> remove_partials;
  // Making a target atomically (a backup plan's `target.makes`): begin returns where the
  // backup builds it (a name no listing matches); commit puts it in place whole.
  std::function<Result<Target>(const TargetSpec&, const Scope&, const std::string& name)> begin;
  std::function<Result<Target>(const TargetSpec&, const Scope&, const Target& begun)> commit;
};

// The `from:` kinds targets can come from. "dir" is the plan's own; git and coolify are
// added beside their actions by the action registry, so whoever lists targets names the
// sources it means (no global filled in at start-up).
class TargetSources {
 public:
  TargetSources();  // knows "dir"
  void add(std::string from, TargetSource source);  // throws std::logic_error on a duplicate
  void add(std::string from, TargetLister lister) { add(std::move(from), TargetSource{.list = std::move(lister)}); }
  void add_check(TargetCheck check);
  void set_offsite(OffsiteTransport transport) { offsite_ = std::move(transport); }
  // The `offsite:` transport; null when none was set (a plan with offsite: then fails).
  const OffsiteTransport* offsite() const { return offsite_.push ? &offsite_ : nullptr; }
  std::vector<std::string> names() const;           // sorted
  const TargetSource* find(std::string_view from) const;
  Result<std::vector<Target>> list(const TargetSpec& spec, const Scope& scope) const;
  const std::vector<TargetCheck>& checks() const { return checks_; }

 private:
  std::map<std::string, TargetSource, std::less<>> sources_;
  std::vector<TargetCheck> checks_;
  OffsiteTransport offsite_;
};

// What the operator typed (--target: a name, a unique prefix, latest, previous), as one
// target. With `prove` (engine::TargetCatalog's one proof), `latest` and `previous` are the
// newest target that verifies and the one before it; each newer one passed over is named in
// `passed_over` with why. An explicit name is returned as is: the caller proves it.
struct TargetPick {
  Target target;
  std::vector<std::string> passed_over;
};
using TargetProof = std::function<Verification(const Target&)>;
Result<TargetPick> pick_target(const TargetSpec& spec, const Scope& scope, const TargetSources& sources,
                               const std::string& wanted, const TargetProof& prove);
// pick_target among `targets` (newest first) that the caller listed: a dir source's own
// listing joined with the off-host copies.
Result<TargetPick> pick_target_in(const TargetSpec& spec, const Scope& scope,
                                  const std::vector<Target>& targets, const std::string& wanted,
                                  const TargetProof& prove);
// pick_target without a proof: the source's own order decides (tests, listings).
Result<Target> resolve_target(const TargetSpec& spec, const Scope& scope, const TargetSources& sources,
                              const std::string& wanted);

// Sets ${target.name}, ${target.path} and ${target.commit} for the chosen target ("" when
// unknown or for none).
void bind_target(Scope& scope, const Target& target);

// The one proof of a target: its source's `verify` (dir targets: `require` paths exist
// inside the target, SHA256SUMS and manifest.json's files verified when present, and every
// tar archive in it read whole, listed or not); for a source without one, each `require`
// entry is a host path or glob that must match something (the dump recorded for
// ${target.commit}). Then every check in `sources`. Call it through engine::TargetCatalog,
// which binds the target first. `scope` resolves ${...} in `require`: it must have the target
// bound (bind_target, then bind_vars again) when entries use ${target.*}.
Verification verify_target(const TargetSpec& spec, const Target& target, const Scope& scope,
                           const TargetSources* sources = nullptr);

}  // namespace rollback::plan
