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
};

struct Verification {
  bool ok = true;
  std::vector<std::string> problems;  // "missing docker-compose.yml", "SHA256SUMS: x.tar.gz differs"
};

// Lists targets newest first, in the source's own order (git history, deployment list);
// `previous` is the one after the current one in that order. `scope` resolves ${vars} in
// the target section.
using TargetLister = std::function<Result<std::vector<Target>>(const TargetSpec&, const Scope&)>;

// The `from:` kinds targets can be listed from. "dir" is the plan's own; git and coolify
// are added beside their actions by the action registry, so whoever lists targets names
// the sources it means (no global filled in at start-up).
class TargetSources {
 public:
  TargetSources();  // knows "dir"
  void add(std::string from, TargetLister lister);  // throws std::logic_error on a duplicate
  std::vector<std::string> names() const;           // sorted
  Result<std::vector<Target>> list(const TargetSpec& spec, const Scope& scope) const;

 private:
  std::map<std::string, TargetLister, std::less<>> listers_;
};

Result<Target> resolve_target(const TargetSpec& spec, const Scope& scope, const TargetSources& sources,
                              const std::string& wanted);

// For dir targets: `require` paths exist, SHA256SUMS (or manifest.json) verified when present.
// Sets ${target.name} and ${target.path} for the chosen target (both "" for none).
void bind_target(Scope& scope, const Target& target);

// `require` entries may use ${vars}: the overload with a scope resolves them (the other
// takes them literally).
Verification verify_target(const TargetSpec& spec, const Target& target);
Verification verify_target(const TargetSpec& spec, const Target& target, const Scope& scope);

}  // namespace rollback::plan
