// Internal: the built-in `from: dir` target source (target_dir.cpp).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <rollback/plan/target.hpp>

namespace rollback::plan::detail {

// Entries of spec.dir matching spec.glob, newest first (mtime, then name).
Result<std::vector<Target>> list_dir_targets(const TargetSpec& spec, const Scope& scope);

// `require` paths, SHA256SUMS and manifest.json of one dir target: one line per problem.
std::vector<std::string> verify_dir_target(const TargetSpec& spec, const Target& target,
                                           const Scope& scope);

// target_dir_proof.cpp: each entry SHA256SUMS (manifest.json's "files") lists, proved: a
// regular file inside `root` with that digest; the names listed go into `listed_names`.
void verify_sums(const std::filesystem::path& root, std::vector<std::string>& problems,
                 std::set<std::string>& listed_names);
void verify_manifest(const std::filesystem::path& root, std::vector<std::string>& problems,
                     std::set<std::string>& listed_names);
// Every tar archive under `root` no list covered, read whole all the same.
void prove_unlisted_archives(const std::filesystem::path& root, const std::set<std::string>& listed,
                             std::vector<std::string>& problems);
bool is_tar_archive_name(const std::string& name);

// The `from: dir` source: list, verify, prune, partials and atomic making (below).
TargetSource dir_source();

// Whether `wanted` (an archive name) exists under another supported extension.
bool archive_under_another_name(const std::filesystem::path& wanted);

}  // namespace rollback::plan::detail
