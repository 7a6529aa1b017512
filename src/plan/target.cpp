// Target sources and resolving what the operator typed (--target) into one target.
#include <rollback/plan/target.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <glob.h>
#include <algorithm>
#include <stdexcept>

#include <rollback/util/text.hpp>
#include <rollback/util/time.hpp>

#include "target_dir.hpp"

namespace rollback::plan {
namespace {

// "in /backups matching 'staging-*'" for dir targets, "from coolify" otherwise.
std::string where_targets(const TargetSpec& spec, const Scope& scope) {
  if (spec.from != "dir") return fmt::format("from {}", spec.from);
  auto dir = interpolate(spec.dir, scope);
  auto glob = interpolate(spec.glob, scope);
  return fmt::format("in {} matching '{}'", dir ? *dir : spec.dir, glob ? *glob : spec.glob);
}

std::string target_line(const Target& target) {
  std::string line = fmt::format("  {}  ({}", target.name, format_utc(target.created, kHumanUtc));
  if (target.current) line += ", current";
  if (!target.detail.empty()) line += ", " + target.detail;
  return line + ")";
}

Result<Target> previous_of(const std::vector<Target>& targets, const std::string& where) {
  auto current =
      std::find_if(targets.begin(), targets.end(), [](const Target& t) { return t.current; });
  if (current == targets.end()) {
    // No source-marked current one: the newest is what is running now.
    if (targets.size() < 2)
      return fail(
          fmt::format("no previous target: only one target ({}) {}", targets[0].name, where));
    return targets[1];
  }
  // Listers give targets newest first, in the source's own order (git history, deployment
  // ids): that order decides, because timestamps tie (commits made in the same second).
  auto previous = std::next(current);
  if (previous == targets.end())
    return fail(fmt::format("no previous target: nothing {} is older than the current one ({})",
                            where, current->name));
  return *previous;
}

}  // namespace

TargetSources::TargetSources() { sources_.emplace("dir", detail::dir_source()); }

void TargetSources::add_check(TargetCheck check) { checks_.push_back(std::move(check)); }

void TargetSources::add(std::string from, TargetSource source) {
  if (!sources_.emplace(std::move(from), std::move(source)).second)
    throw std::logic_error("target source registered twice");
}

const TargetSource* TargetSources::find(std::string_view from) const {
  auto it = sources_.find(from);
  return it == sources_.end() ? nullptr : &it->second;
}

std::vector<std::string> TargetSources::names() const {
  std::vector<std::string> names;
  for (const auto& [name, source] : sources_) names.push_back(name);
  return names;
}

Result<std::vector<Target>> TargetSources::list(const TargetSpec& spec, const Scope& scope) const {
  if (spec.from.empty()) return fail("the plan has no target section, so it has no targets");
  const auto* source = find(spec.from);
  if (!source)
    return fail(fmt::format("target source 'from: {}' is not available (known: {})", spec.from,
                            fmt::join(names(), ", ")));
  return source->list(spec, scope);
}

namespace {

std::string passed_over_line(const Target& target, const Verification& check) {
  return fmt::format("{} does not verify ({})", target.name,
                     check.problems.empty() ? "no reason given" : check.problems.front());
}

// `latest` and `previous` mean the newest target that verifies and the one before it: a
// newer one that does not verify (a broken or unfinished backup) is passed over, and said.
Result<TargetPick> pick_verifying(const std::vector<Target>& targets, bool previous, const std::string& where,
                                  const TargetProof& prove) {
  TargetPick pick;
  auto current = std::find_if(targets.begin(), targets.end(), [](const Target& t) { return t.current; });
  // `previous` starts after the current one (a source that marks it), else after the newest
  // that verifies.
  bool after_current = previous && current != targets.end();
  bool skipped_newest = false;
  for (auto it = targets.begin(); it != targets.end(); ++it) {
    if (after_current) {
      if (it <= current) continue;
    }
    auto check = prove ? prove(*it) : Verification{};
    if (!check.ok) {
      pick.passed_over.push_back(passed_over_line(*it, check));
      continue;
    }
    if (previous && !after_current && !skipped_newest) {
      skipped_newest = true;
      continue;
    }
    pick.target = *it;
    return pick;
  }
  std::string passed;
  for (const auto& line : pick.passed_over) passed += "\n  " + line;
  if (previous)
    return fail(fmt::format("no previous target that verifies {}{}", where,
                            passed.empty() ? "" : fmt::format("; passed over:{}", passed)));
  return fail(fmt::format("no target {} verifies{}", where, passed.empty() ? "" : fmt::format(":{}", passed)));
}

}  // namespace

Result<Target> resolve_target(const TargetSpec& spec, const Scope& scope, const TargetSources& sources,
                              const std::string& wanted) {
  auto pick = pick_target(spec, scope, sources, wanted, {});
  if (!pick) return std::unexpected(pick.error());
  return pick->target;
}

Result<TargetPick> pick_target(const TargetSpec& spec, const Scope& scope, const TargetSources& sources,
                               const std::string& wanted, const TargetProof& prove) {
  std::string want(trim(wanted));
  if (spec.from.empty()) {
    if (want.empty() || want == "none") return TargetPick{};
    return fail(
        fmt::format("--target {}: this plan has no target section, so it takes no target", want));
  }
  if (want.empty()) want = spec.default_target;
  if (want.empty() || want == "none")
    return fail(
        "this plan needs a target: pass --target latest, --target previous or a target "
        "name (`rollback targets PLAN` lists them)");

  auto listed = sources.list(spec, scope);
  if (!listed) return std::unexpected(listed.error());
  return pick_target_in(spec, scope, *listed, want, prove);
}

Result<TargetPick> pick_target_in(const TargetSpec& spec, const Scope& scope,
                                  const std::vector<Target>& targets, const std::string& wanted,
                                  const TargetProof& prove) {
  std::string want(trim(wanted));
  if (want.empty()) want = spec.default_target;
  std::string where = where_targets(spec, scope);
  if (targets.empty()) return fail(fmt::format("no targets found {}", where));
  if (prove && (want == "latest" || want == "previous")) return pick_verifying(targets, want == "previous", where, prove);
  if (want == "latest") return TargetPick{targets.front(), {}};
  if (want == "previous") {
    auto previous = previous_of(targets, where);
    if (!previous) return std::unexpected(previous.error());
    return TargetPick{*previous, {}};
  }

  for (const auto& target : targets)
    if (target.name == want) return TargetPick{target, {}};
  std::vector<const Target*> matches;
  for (const auto& target : targets)
    if (target.name.starts_with(want)) matches.push_back(&target);
  if (matches.size() == 1) return TargetPick{*matches.front(), {}};
  if (matches.size() > 1) {
    std::string lines;
    for (const Target* match : matches) lines += "\n" + target_line(*match);
    return fail(
        fmt::format("target '{}' is ambiguous: it matches {} targets {}; give more of the "
                    "name:{}",
                    want, matches.size(), where, lines));
  }
  std::vector<std::string> names;
  std::string newest;
  for (size_t i = 0; i < targets.size(); ++i) {
    names.push_back(targets[i].name);
    if (i < 5) newest += "\n" + target_line(targets[i]);
  }
  auto best = did_you_mean(want, names);
  return fail(fmt::format("no target '{}' {}{}; the newest are:{}", want, where,
                          best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best), newest));
}

void bind_target(Scope& scope, const Target& target) {
  scope.set_builtin("target.name", target.name);
  scope.set_builtin("target.path", target.path);
  scope.set_builtin("target.commit", target.commit);
}

namespace {

// A target without a folder (git, coolify): each entry names host files, as a glob.
std::vector<std::string> verify_host_paths(const TargetSpec& spec, const Scope& scope) {
  std::vector<std::string> problems;
  for (const auto& required : spec.require) {
    auto pattern = interpolate(required, scope);
    if (!pattern) {
      problems.push_back(fmt::format("require '{}': {}", required, pattern.error().message));
      continue;
    }
    glob_t found{};
    int rc = ::glob(pattern->c_str(), 0, nullptr, &found);
    bool matched = rc == 0 && found.gl_pathc > 0;
    ::globfree(&found);
    if (!matched) problems.push_back(fmt::format("nothing matches {}", *pattern));
  }
  return problems;
}

}  // namespace

Verification verify_target(const TargetSpec& spec, const Target& target, const Scope& scope,
                           const TargetSources* sources) {
  Verification result;
  // Without `sources` only the plan's own dir source is known (a plan-level check).
  static const TargetSources builtin;
  const TargetSource* source = (sources ? sources : &builtin)->find(spec.from);
  if (source && source->verify) result.problems = source->verify(spec, target, scope);
  else result.problems = verify_host_paths(spec, scope);
  if (sources)
    for (const auto& check : sources->checks()) {
      auto more = check(spec, target, scope);
      result.problems.insert(result.problems.end(), more.begin(), more.end());
    }
  result.ok = result.problems.empty();
  return result;
}

}  // namespace rollback::plan
