// `from: dir` targets: backup folders (or archives) in one directory, and their checks (the
// proof of what a folder lists is in target_dir_proof.cpp).
#include "target_dir.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <cerrno>
#include <cstring>
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include <rollback/util/archive.hpp>
#include <rollback/util/fs.hpp>

namespace rollback::plan::detail {
namespace fs = std::filesystem;

namespace {

std::chrono::system_clock::time_point to_system(fs::file_time_type time) {
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::file_clock::to_sys(time));
}

unsigned long long size_of(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    auto size = fs::file_size(path, ec);
    return ec ? 0 : size;
  }
  unsigned long long total = 0;
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    std::error_code file_ec;
    if (it->is_regular_file(file_ec) && !it->is_symlink(file_ec)) {
      auto size = it->file_size(file_ec);
      if (!file_ec) total += size;
    }
  }
  return total;
}

}  // namespace

Result<std::vector<Target>> list_dir_targets(const TargetSpec& spec, const Scope& scope) {
  if (spec.dir.empty()) return fail("target: from: dir needs 'dir' (where the targets are)");
  auto dir = interpolate(spec.dir, scope);
  if (!dir) return fail(fmt::format("target.dir: {}", dir.error().message));
  auto glob = interpolate(spec.glob, scope);
  if (!glob) return fail(fmt::format("target.glob: {}", glob.error().message));
  std::error_code ec;
  if (!fs::is_directory(*dir, ec))
    return fail(fmt::format("target dir {} does not exist or is not a directory{}", *dir,
                            *dir == spec.dir ? "" : fmt::format(" (target.dir: {})", spec.dir)));
  std::vector<Target> targets;
  fs::directory_iterator it(*dir, ec);
  if (ec) return fail(fmt::format("cannot list target dir {}: {}", *dir, ec.message()));
  for (fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return fail(fmt::format("cannot list target dir {}: {}", *dir, ec.message()));
    std::string name = it->path().filename().string();
    // FNM_PERIOD: "*" does not pick up hidden entries such as a half-written ".tmp" folder.
    if (::fnmatch(glob->c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
    std::error_code time_ec;
    auto mtime = fs::last_write_time(it->path(), time_ec);
    if (time_ec) continue;  // a dangling symlink is no target
    // A folder's own mtime moves whenever a file in it is added or removed (an archive
    // deleted by hand, a restore's scratch file), which would make an old target "latest".
    // Its seal is written once, when the backup ends.
    for (const char* seal : {"SHA256SUMS", "manifest.json"}) {
      std::error_code seal_ec;
      auto sealed = fs::last_write_time(it->path() / seal, seal_ec);
      if (!seal_ec) {
        mtime = sealed;
        break;
      }
    }
    Target target;
    target.name = name;
    target.path = it->path().string();
    target.created = to_system(mtime);
    target.size_bytes = size_of(it->path());
    targets.push_back(std::move(target));
  }
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) {
    if (a.created != b.created) return a.created > b.created;
    return a.name > b.name;
  });
  return targets;
}

std::vector<std::string> verify_dir_target(const TargetSpec& spec, const Target& target,
                                           const Scope& scope) {
  std::vector<std::string> problems;
  fs::path root(target.path);
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    problems.push_back(fmt::format("target {} no longer exists ({})", target.name, target.path));
    return problems;
  }
  if (!fs::is_directory(root, ec)) {
    if (!spec.require.empty())
      problems.push_back(
          fmt::format("target {} is a file, but the plan requires paths inside a "
                      "folder",
                      target.name));
    else if (is_tar_archive_name(root.filename().string()))
      if (auto proved = prove_archive(root); !proved)
        problems.push_back(fmt::format("{} does not read: {}", target.name, proved.error().message));
    return problems;
  }
  for (const auto& required : spec.require) {
    auto path = interpolate(required, scope);
    if (!path) {
      problems.push_back(fmt::format("require '{}': {}", required, path.error().message));
      continue;
    }
    if (!fs::exists(root / *path, ec) && !archive_under_another_name(root / *path))
      problems.push_back(fmt::format("missing {}", *path));
  }
  std::set<std::string> listed;
  if (fs::exists(root / "SHA256SUMS", ec)) verify_sums(root, problems, listed);
  if (fs::exists(root / "manifest.json", ec)) verify_manifest(root, problems, listed);
  prove_unlisted_archives(root, listed, problems);
  return problems;
}

namespace {

// A backup builds its folder as ".incomplete-NAME" and a prune moves a target to
// ".pruning-NAME" before removing it: hidden names, which no glob matches (FNM_PERIOD), so
// neither a killed backup nor a prune cut short leaves anything `latest` could pick.
constexpr std::string_view kIncompletePrefix = ".incomplete-";
constexpr std::string_view kPruningPrefix = ".pruning-";

std::string normal(const std::string& path) {
  std::string text = fs::path(path).lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

Result<std::pair<std::string, std::string>> dir_and_glob(const TargetSpec& spec, const Scope& scope) {
  auto dir = interpolate(spec.dir, scope);
  if (!dir) return fail(fmt::format("target.dir: {}", dir.error().message));
  auto glob = interpolate(spec.glob, scope);
  if (!glob) return fail(fmt::format("target.glob: {}", glob.error().message));
  return std::pair{*dir, *glob};
}

Status prune_dir_target(const TargetSpec& spec, const Target& target, const Scope& scope) {
  auto where = dir_and_glob(spec, scope);
  if (!where) return std::unexpected(where.error());
  const std::string& dir = where->first;
  fs::path from(target.path);
  // Only an entry of the target dir itself, by its own name: nothing else is ever removed.
  if (normal(from.parent_path().string()) != normal(dir) || from.filename().string() != target.name)
    return fail(fmt::format("{} is not an entry of {}", target.path, dir));
  remove_entries_starting_with(dir, kPruningPrefix);  // a prune cut short: hidden, no glob lists it
  fs::path hidden = from.parent_path() / (std::string(kPruningPrefix) + target.name);
  std::error_code ec;
  fs::rename(from, hidden, ec);
  if (ec) return fail(fmt::format("cannot move it aside: {}", ec.message()));
  fs::remove_all(hidden, ec);
  if (ec) return fail(fmt::format("moved to {} but not removed: {}", hidden.string(), ec.message()));
  // A file target's checksum beside it (pg.dump's NAME.sha256) goes with it.
  fs::path sidecar = from;
  sidecar += ".sha256";
  if (fs::is_regular_file(sidecar, ec)) fs::remove(sidecar, ec);
  return ok();
}

// Backups begun and never committed: ".incomplete-NAME" where NAME matches the glob.
Result<std::vector<Target>> list_partials(const TargetSpec& spec, const Scope& scope) {
  auto where = dir_and_glob(spec, scope);
  if (!where) return std::unexpected(where.error());
  std::vector<Target> out;
  std::error_code ec;
  for (fs::directory_iterator it(where->first, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(kIncompletePrefix)) continue;
    std::string made = name.substr(kIncompletePrefix.size());
    if (::fnmatch(where->second.c_str(), made.c_str(), FNM_PERIOD) != 0) continue;
    std::error_code time_ec;
    auto mtime = fs::last_write_time(it->path(), time_ec);
    Target t;
    t.name = made;
    t.path = it->path().string();
    if (!time_ec) t.created = to_system(mtime);
    t.size_bytes = size_of(it->path());
    t.detail = "incomplete: a backup began it and never finished (killed?); the next backup removes it";
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> remove_partials(const TargetSpec& spec, const Scope& scope) {
  std::vector<std::string> removed;
  auto partials = list_partials(spec, scope);
  if (!partials) return removed;
  for (const auto& t : *partials) {
    std::error_code ec;
    fs::remove_all(t.path, ec);
    if (!ec) removed.push_back(t.name);
  }
  return removed;
}

Result<Target> begin_backup(const TargetSpec& spec, const Scope& scope, const std::string& name) {
  auto where = dir_and_glob(spec, scope);
  if (!where) return std::unexpected(where.error());
  if (name.empty() || name.find('/') != std::string::npos || name.starts_with("."))
    return fail(fmt::format("target.makes: '{}' is not a plain folder name", name));
  std::error_code ec;
  RB_TRY(make_private_dirs(where->first));
  Target t;
  t.name = name;
  t.path = (fs::path(where->first) / (std::string(kIncompletePrefix) + name)).string();
  fs::remove_all(t.path, ec);  // a partial of the same name, from a run that was killed
  RB_TRY(make_private_dirs(t.path));
  return t;
}

Result<Target> commit_backup(const TargetSpec& spec, const Scope& scope, const Target& begun) {
  auto where = dir_and_glob(spec, scope);
  if (!where) return std::unexpected(where.error());
  fs::path final_path = fs::path(where->first) / begun.name;
  std::error_code ec;
  // A target of the same name (`backup_name=emergency-stable`, made again) is swapped out in
  // one step: a reader sees the old backup or the new one, never neither.
  const bool replacing = fs::exists(fs::symlink_status(final_path, ec));
  if (::renameat2(AT_FDCWD, begun.path.c_str(), AT_FDCWD, final_path.c_str(),
                  replacing ? RENAME_EXCHANGE : RENAME_NOREPLACE) != 0)
    return fail(fmt::format("cannot put backup {} in place ({} -> {}): {}", begun.name, begun.path,
                            final_path.string(), std::strerror(errno)));
  fsync_dir(where->first);
  if (replacing) fs::remove_all(begun.path, ec);  // the old one, now under the hidden name
  Target t = begun;
  t.path = final_path.string();
  return t;
}

}  // namespace

TargetSource dir_source() {
  TargetSource source;
  source.list = list_dir_targets;
  source.verify = [](const TargetSpec& spec, const Target& target, const Scope& scope) {
    return target.path.empty() ? std::vector<std::string>{} : verify_dir_target(spec, target, scope);
  };
  source.prune = prune_dir_target;
  source.partials = list_partials;
  source.remove_partials = remove_partials;
  source.begin = begin_backup;
  source.commit = commit_backup;
  return source;
}

bool archive_under_another_name(const fs::path& wanted) {
  // A target made before the switch to .tar.zst, or by the runbook's own `tar czf`.
  if (!compression_from_name(wanted.filename().string())) return false;
  std::error_code ec;
  for (const auto& name : archive_name_candidates(wanted.filename().string()))
    if (fs::exists(wanted.parent_path() / name, ec)) return true;
  return false;
}

}  // namespace rollback::plan::detail
