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
#include <rollback/plan/plan.hpp>
#include <rollback/util/result.hpp>

namespace rollback::plan {

struct Target {
  std::string name;                 // "staging-20250127-180000", a commit, a deployment uuid
  std::string path;                 // dir targets: the folder; others: "" or a URL
  std::chrono::system_clock::time_point created{};
  std::optional<unsigned long long> size_bytes;
  std::string detail;               // commit subject, deployment status...
  bool current = false;             // what is running now (git HEAD, Coolify's current)
  std::string commit;               // git targets: the full hash (${target.commit})
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

// The `from:` kinds targets can be listed from. "dir" is the plan's own; git and coolify
// are added beside their actions by the action registry, so whoever lists targets names
// the sources it means (no global filled in at start-up).
class TargetSources {
 public:
  TargetSources();  // knows "dir"
  void add(std::string from, TargetLister lister);  // throws std::logic_error on a duplicate
  void add_check(TargetCheck check);
  std::vector<std::string> names() const;           // sorted
  Result<std::vector<Target>> list(const TargetSpec& spec, const Scope& scope) const;
  const std::vector<TargetCheck>& checks() const { return checks_; }

 private:
  std::map<std::string, TargetLister, std::less<>> listers_;
  std::vector<TargetCheck> checks_;
};

Result<Target> resolve_target(const TargetSpec& spec, const Scope& scope, const TargetSources& sources,
                              const std::string& wanted);

// Sets ${target.name}, ${target.path} and ${target.commit} for the chosen target ("" when
// unknown or for none).
void bind_target(Scope& scope, const Target& target);

// Dir targets: `require` paths exist inside the target, SHA256SUMS (and manifest.json's
// files) verified when present. Other targets: each `require` entry is a host path or glob
// that must match something (the dump recorded for ${target.commit}). Then every check in
// `sources` (may be null). `scope` resolves ${...} in `require`: it must have the target
// bound (bind_target, then bind_vars again) when entries use ${target.*}.
Verification verify_target(const TargetSpec& spec, const Target& target, const Scope& scope,
                           const TargetSources* sources = nullptr);

}  // namespace rollback::plan
