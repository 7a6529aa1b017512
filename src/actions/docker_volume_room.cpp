// Room for a restore (docker_volume_checks.hpp). A restore empties the volume, then
// extracts: an archive that cannot fit would leave the volume empty and its filesystem
// full, the old data gone (issue 24). Preflight knows the archive's unpacked size from its
// one proving pass, so the refusal comes before anything stops; the helper checks again
// where the data goes, right before it empties the volume.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sstream>

#include <fmt/format.h>

#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/docker_volume_stream.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/text.hpp>

#include "docker_volume_checks.hpp"

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

constexpr const char* kNoRoomMarker = "rollback-no-room";
constexpr int kNoRoomExit = 75;  // EX_TEMPFAIL

struct Room {
  std::uint64_t avail_kib = 0;  // free on the volume's filesystem
  std::uint64_t used_kib = 0;   // what the volume holds now (freed by emptying it)
};

// KiB the files under `dir` take on disk (du -sk), not following links.
std::uint64_t used_kib(const fs::path& dir) {
  std::uint64_t blocks = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0) blocks += static_cast<std::uint64_t>(st.st_blocks);
  }
  return blocks / 2;
}

// A volume of the local driver without options, on this host's engine: its folder is the
// data itself, readable here. A tmpfs or NFS volume (driver options) is mounted only while
// a container uses it, so the host's view of that folder says nothing.
std::optional<fs::path> plain_local_folder(ActionContext& ctx, const Params& p, const std::string& volume) {
  if (channel_for(p) != Channel::Fifo) return std::nullopt;
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"volume", "inspect", "--format", "{{.Driver}}|{{len .Options}}|{{.Mountpoint}}", "--", volume});
  auto found = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!found || !found->succeeded()) return std::nullopt;
  // "local|0|/var/lib/docker/volumes/NAME/_data"
  auto out = trim(found->out);
  if (!out.starts_with("local|0|")) return std::nullopt;
  fs::path folder = out.substr(std::string_view("local|0|").size());
  std::error_code ec;
  if (!folder.is_absolute() || !fs::is_directory(folder, ec)) return std::nullopt;
  return folder;
}

Result<Room> measure_on_host(const fs::path& folder, bool clean) {
  struct statvfs st {};
  if (::statvfs(folder.c_str(), &st) != 0) return fail("cannot read the free space of " + folder.string());
  return Room{static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize / 1024, clean ? used_kib(folder) : 0};
}

Result<Room> measure_in_helper(ActionContext& ctx, const Params& p, const std::string& volume, bool clean) {
  auto helper = helper_for(ctx);
  std::string script = "df -Pk /data | awk 'NR==2{print $4}'; ";
  script += clean ? "du -sk /data | cut -f1" : "echo 0";
  auto argv = helper_argv(p, helper, {volume + ":/data:ro"}, image_of(p), {"sh", "-c", script});
  auto done = run_helper(ctx, p, helper, argv);
  if (!done || !done->succeeded()) return std::unexpected(explain(ctx, p, "measuring the room in volume " + volume, done));
  auto lines = nonempty_lines(done->out);
  auto avail = lines.size() == 2 ? parse_number(lines[0]) : std::nullopt;
  auto used = lines.size() == 2 ? parse_number(lines[1]) : std::nullopt;
  if (!avail || !used) return fail(fmt::format("{}cannot read the room in volume {} from: {}", step_prefix(ctx), volume, done->out));
  return Room{static_cast<std::uint64_t>(*avail), static_cast<std::uint64_t>(*used)};
}

std::string no_room(const ActionContext& ctx, const std::string& volume, std::uint64_t need_kib, const Room& room) {
  return fmt::format("{}no space left on volume {}: the archive unpacks to {}, the volume's filesystem has {} ({} free{}); "
                     "nothing was changed. Make room, or restore into a bigger volume",
                     step_prefix(ctx), volume, human_size(need_kib * 1024),
                     human_size((room.avail_kib + room.used_kib) * 1024), human_size(room.avail_kib * 1024),
                     room.used_kib > 0 ? fmt::format(" + {} the volume holds now", human_size(room.used_kib * 1024)) : "");
}

}  // namespace

std::uint64_t unpacked_need_kib(const ArchiveFacts& facts) { return facts.tar_bytes / 1024 + 4 * facts.entries; }

Status check_restore_room(ActionContext& ctx, const Params& p, const std::string& volume, const ArchiveFacts& facts,
                          bool clean) {
  auto exists = volume_exists(ctx, p, volume);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return ok();  // created by the restore: the helper checks the room it gets
  auto folder = plain_local_folder(ctx, p, volume);
  auto room = folder ? measure_on_host(*folder, clean) : measure_in_helper(ctx, p, volume, clean);
  if (!room) return std::unexpected(room.error());
  auto need = unpacked_need_kib(facts);
  if (room->avail_kib + room->used_kib < need) return fail(no_room(ctx, volume, need, *room));
  return ok();
}

std::string room_shell_check(bool clean) {
  return fmt::format(
      "avail=$(df -Pk /data | awk 'NR==2{{print $4}}'); used={}; "
      "if [ $((avail + used)) -lt \"$1\" ]; then echo \"{} $avail $used\" >&2; exit {}; fi; ",
      clean ? "$(du -sk /data | cut -f1)" : "0", kNoRoomMarker, kNoRoomExit);
}

std::optional<Error> room_refusal(const ActionContext& ctx, const std::string& volume, std::uint64_t need_kib,
                                  const proc::Completed& helper) {
  if (auto at = helper.err.find(kNoRoomMarker); at != std::string::npos && helper.exit_code == kNoRoomExit) {
    Room room;
    std::istringstream fields(helper.err.substr(at + std::string_view(kNoRoomMarker).size()));
    fields >> room.avail_kib >> room.used_kib;
    return Error{no_room(ctx, volume, need_kib, room)};
  }
  if (helper.err.find("No space left on device") != std::string::npos)
    return Error{fmt::format("{}no space left on volume {} while extracting the archive: the volume is now "
                             "incomplete; restore it again once there is room",
                             step_prefix(ctx), volume)};
  return std::nullopt;
}

}  // namespace rollback::actions::docker
