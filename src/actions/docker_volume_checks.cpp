// The checks of docker.volume.backup and restore (docker_volume_checks.hpp).
#include "docker_volume_checks.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/docker_volume_use.hpp>
#include <rollback/util/runtime_dir.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

// The archive proved whole in one pass (remembered while the file is unchanged).
Result<ArchiveFacts> prove_source(ActionContext& ctx, const fs::path& archive) {
  auto where = step_prefix(ctx);
  std::error_code ec;
  if (!fs::exists(archive, ec))
    return fail(fmt::format("{}archive {} does not exist (nor under another of .tar.zst, .tar.gz, .tgz, .tar)", where,
                            archive.string()));
  if (!fs::is_regular_file(archive, ec))
    return fail(fmt::format("{}archive {} is not a regular file", where, archive.string()));
  if (fs::file_size(archive, ec) == 0) return fail(fmt::format("{}archive {} is empty", where, archive.string()));
  auto facts = prove_archive(archive);
  if (!facts) return fail(where + facts.error().message);
  return facts;
}

}  // namespace

std::string image_of(const Params& p) { return p.str("image", kDefaultHelperImage); }

fs::path archive_path(const Params& p) {
  std::error_code ec;
  auto path = fs::absolute(p.str("archive"), ec);
  return ec ? fs::path(p.str("archive")) : path.lexically_normal();
}

fs::path existing_archive(const Params& p) {
  auto wanted = archive_path(p);
  std::error_code ec;
  for (const auto& name : archive_name_candidates(wanted.filename().string()))
    if (fs::exists(wanted.parent_path() / name, ec)) return wanted.parent_path() / name;
  return wanted;
}

Compression compression_of(const Params& p) {
  if (auto chosen = parse_compression(p.str("compress"))) return *chosen;
  return compression_from_name(archive_path(p).filename().string()).value_or(Compression::Zstd);
}

bool keep_special(const Params& p) { return p.str("special_files", "drop") == "keep"; }

Status check_unused(ActionContext& ctx, const Params& p, const std::string& volume) {
  if (p.flag("force")) return ok();
  auto users = containers_using(ctx, p, volume);
  if (!users) return std::unexpected(users.error());
  if (users->empty()) return ok();
  std::string list;
  for (const auto& u : *users) list += (list.empty() ? "" : ", ") + u;
  return fail(fmt::format("{}volume {} is in use by {}; stop them first (docker.compose down, docker.stop) or set "
                          "`force: true` to restore under them",
                          step_prefix(ctx), volume, list));
}

Result<ArchiveFacts> check_restore_source(ActionContext& ctx, const Params& p) {
  auto archive = existing_archive(p);
  auto facts = prove_source(ctx, archive);
  if (!facts) return facts;
  RB_TRY(check_image_present(ctx, p, image_of(p)));
  return facts;
}

Status check_channel(ActionContext& ctx) {
  auto dir = make_runtime_subdir("stream");
  if (!dir) return fail(step_prefix(ctx) + dir.error().message);
  auto fifo = *dir / "fifo";
  int made = ::mkfifo(fifo.c_str(), 0600);
  int error = errno;
  std::error_code ec;
  fs::remove_all(*dir, ec);
  if (made != 0)
    return fail(fmt::format("{}cannot make the stream's FIFO in {}: {} (ROLLBACK_RUNTIME_DIR chooses another folder)",
                            step_prefix(ctx), dir->parent_path().string(), std::strerror(error)));
  return check_mountable(ctx, *dir);
}

Status check_writable(ActionContext& ctx, const fs::path& dir) {
  std::error_code ec;
  auto probe = dir;
  while (!fs::exists(probe, ec) && probe.has_parent_path() && probe != probe.parent_path()) probe = probe.parent_path();
  // access() reports EROFS for a read-only mount even to root.
  if (::access(probe.c_str(), W_OK) == 0) return ok();
  return fail(fmt::format("{}cannot write the archive into {}: {} is not writable ({})", step_prefix(ctx),
                          dir.string(), probe.string(), std::strerror(errno)));
}

}  // namespace rollback::actions::docker
