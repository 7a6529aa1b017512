// The off-host half of the target catalog (include/rollback/engine/target_catalog.hpp): the
// copies only the remote holds, listed beside the local targets, and the download that makes
// one a local target, proved whole, before anything stops.
#include <rollback/engine/target_catalog.hpp>

#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <rollback/util/disk.hpp>
#include <rollback/util/file_lock.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/time.hpp>
#include <rollback/util/trust.hpp>

namespace rollback::engine {
namespace fs = std::filesystem;
namespace {

// Hidden, so no glob lists a download in progress, and no backup's partial looks like one.
constexpr std::string_view kDownloadingPrefix = ".downloading-";
constexpr const char* kDownloadLock = ".rollback-download.lock";
// In a downloaded target: where it came from. A hidden file no proof counts as an archive.
constexpr const char* kDownloadedMarker = ".rollback-downloaded.json";

bool newer(const plan::Target& a, const plan::Target& b) {
  if (a.created != b.created) return a.created > b.created;
  return a.name > b.name;
}

}  // namespace

Result<std::vector<plan::Target>> TargetCatalog::list_local(const plan::Scope& base) const {
  if (auto remote = plan::bind_offsite(plan_, base);
      remote && *remote && plan_.target.from == "dir") {
    auto dir = plan::interpolate(plan_.target.dir, base);
    std::error_code ec;
    if (dir && !fs::exists(fs::symlink_status(*dir, ec))) return std::vector<plan::Target>{};
  }
  return sources_.list(plan_.target, base);
}

Result<std::vector<plan::Target>> TargetCatalog::offsite_copies(const plan::Scope& base) const {
  std::vector<plan::Target> out;
  if (plan_.offsite.remote.empty()) return out;
  auto remote = plan::bind_offsite(plan_, base);
  if (!remote) return std::unexpected(remote.error());
  if (!*remote) return out;
  const auto* transport = sources_.offsite();
  if (!transport) return fail("no off-host transport in this build");
  auto copies = transport->list(**remote);
  if (!copies) return std::unexpected(copies.error());
  auto glob = plan::interpolate(plan_.target.glob, base);
  if (!glob) return fail(fmt::format("target.glob: {}", glob.error().message));
  for (const auto& copy : *copies) {
    // A copy without its marker is an upload that never finished: not a target.
    if (!copy.complete || ::fnmatch(glob->c_str(), copy.name.c_str(), FNM_PERIOD) != 0) continue;
    out.push_back(
        {.name = copy.name,
         .path = plan::offsite_path((*remote)->remote, copy.name),
         .created = copy.modified,
         .size_bytes = copy.size_bytes,
         .detail = "off-host only: a run downloads it and proves it whole before anything stops",
         .offsite_only = true});
  }
  std::sort(out.begin(), out.end(), newer);
  return out;
}

// Where each target lives, and the targets only the remote holds, in time order. A local
// one a run downloaded says so.
void TargetCatalog::add_offsite(std::vector<CatalogRow>& rows, const plan::Scope& base) const {
  offsite_problem_.clear();
  if (auto remote = plan::bind_offsite(plan_, base);
      plan_.offsite.remote.empty() || (remote && !*remote))
    return;
  for (auto& row : rows) {
    row.location = "local";
    std::error_code ec;
    if (!row.target.path.empty() &&
        fs::is_regular_file(fs::path(row.target.path) / kDownloadedMarker, ec))
      row.target.detail = "a downloaded copy of the off-host one";
  }
  auto copies = offsite_copies(base);
  if (!copies) {
    offsite_problem_ = copies.error().message;
    return;
  }
  for (auto& copy : *copies) {
    auto local = std::find_if(rows.begin(), rows.end(),
                              [&](const auto& r) { return r.target.name == copy.name; });
    if (local != rows.end()) {
      local->location = "both";
      continue;
    }
    CatalogRow row{.target = std::move(copy), .location = "offsite"};
    auto at = std::find_if(rows.begin(), rows.end(),
                           [&](const auto& r) { return r.target.created < row.target.created; });
    rows.insert(at, std::move(row));
  }
}

Result<std::vector<plan::Target>> TargetCatalog::list_all(const plan::Scope& base) const {
  auto all = list_local(base);
  if (!all) return all;
  auto copies = offsite_copies(base);
  if (!copies) {
    offsite_problem_ = copies.error().message;
    if (!all->empty()) return all;  // the remote is down: the local targets still stand
    return fail(fmt::format(
        "the host holds no targets, and the off-host copies ({}) could not be listed: {}",
        plan_.offsite.remote, copies.error().message));
  }
  for (auto& copy : *copies)
    if (std::none_of(all->begin(), all->end(), [&](const auto& t) { return t.name == copy.name; }))
      all->push_back(std::move(copy));
  std::stable_sort(all->begin(), all->end(), newer);
  return all;
}

Result<plan::Target> TargetCatalog::local_copy(const plan::Target& target,
                                               const plan::Scope& base) const {
  if (!target.offsite_only) return target;
  for (const auto& done : downloads_)
    if (done.name == target.name) {
      plan::Target local = target;
      local.path = done.kept_at;
      local.offsite_only = false;
      return local;
    }
  return download(target, base);
}

// Into a hidden folder of the target dir (the same filesystem: the restore reads it there,
// and it becomes a local target by a rename), proved whole, then put in place and kept.
Result<plan::Target> TargetCatalog::download(const plan::Target& target,
                                             const plan::Scope& base) const {
  auto remote = plan::bind_offsite(plan_, base);
  if (!remote) return std::unexpected(remote.error());
  const auto* transport = sources_.offsite();
  if (!*remote || !transport) return fail("no off-host transport in this build");
  auto dir_text = plan::interpolate(plan_.target.dir, base);
  if (!dir_text) return fail(fmt::format("target.dir: {}", dir_text.error().message));
  fs::path dir(*dir_text), kept = dir / target.name;
  // Root writes and then restores what lands here: a folder another user could write (or
  // swap) between the proof and the restore is refused, as a state dir would be.
  if (auto why = unsafe_state_dir_reason(dir, ::geteuid()); !why.empty())
    return fail(fmt::format("will not download into {}: {}", dir.string(), why));
  RB_TRY(make_private_dirs(dir));
  auto lock = FileLock::take(dir / kDownloadLock, FileLock::Wait::No);
  if (!lock) return std::unexpected(lock.error());
  if (!*lock)
    return fail(fmt::format("another run is downloading into {} now; try again when it is done",
                            dir.string()));
  std::error_code ec;
  plan::Target local = target;
  local.offsite_only = false;
  if (fs::exists(fs::symlink_status(kept, ec))) {  // another run brought it down meanwhile
    local.path = kept.string();
    return local;
  }
  remove_entries_starting_with(dir, kDownloadingPrefix);  // a download killed (SIGKILL, power loss)
  RB_TRY(
      check_room(dir, target.size_bytes.value_or(0), fmt::format("downloading {}", target.path)));
  fs::path partial = dir / (std::string(kDownloadingPrefix) + target.name);
  RB_TRY(make_private_dirs(partial));
  auto discard = [&](const std::string& why) -> Result<plan::Target> {
    std::error_code removed;
    fs::remove_all(partial, removed);
    return fail(why);
  };
  auto began = std::chrono::steady_clock::now();
  auto fetched = transport->fetch(**remote, target.name, partial);
  if (!fetched) return discard(fetched.error().message);  // the transport's own words name the copy
  local.path = partial.string();
  if (auto check = verify(local, base); !check.ok)
    return discard(fmt::format("its off-host copy, downloaded from {}, does not verify: {}",
                               target.path, fmt::join(check.problems, "; ")));
  nlohmann::json marker = {{"downloaded_from", target.path},
                           {"downloaded", format_iso_utc(std::chrono::system_clock::now())},
                           {"files", fetched->files},
                           {"bytes", fetched->bytes}};
  if (auto wrote = write_file_atomic(partial / kDownloadedMarker, marker.dump(2) + "\n"); !wrote)
    return discard(wrote.error().message);
  if (::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, kept.c_str(), RENAME_NOREPLACE) != 0)
    return discard(fmt::format("cannot put {} in place: {}", kept.string(), std::strerror(errno)));
  fsync_dir(dir);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  downloads_.push_back({.name = target.name,
                        .remote = target.path,
                        .kept_at = kept.string(),
                        .bytes = fetched->bytes,
                        .files = fetched->files,
                        .checked = fetched->method,
                        .seconds = seconds});
  local.path = kept.string();
  local.detail = "downloaded from " + target.path;
  return local;
}

}  // namespace rollback::engine
