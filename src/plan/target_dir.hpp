// Internal: the built-in `from: dir` target source (target_dir.cpp).
#pragma once

#include <string>
#include <vector>

#include <rollback/plan/target.hpp>

namespace rollback::plan::detail {

// Entries of spec.dir matching spec.glob, newest first (mtime, then name).
Result<std::vector<Target>> list_dir_targets(const TargetSpec& spec, const Scope& scope);

// `require` paths, SHA256SUMS and manifest.json of one dir target: one line per problem.
std::vector<std::string> verify_dir_target(const TargetSpec& spec, const Target& target,
                                           const Scope& scope);

// The `from: dir` source: list, verify, prune, partials and atomic making (below).
TargetSource dir_source();

// Whether `wanted` (an archive name) exists under another supported extension.
bool archive_under_another_name(const std::filesystem::path& wanted);

}  // namespace rollback::plan::detail
