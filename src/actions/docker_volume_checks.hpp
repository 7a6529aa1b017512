// What docker.volume.backup and docker.volume.restore check before they change anything:
// the archive proved whole, the helper image present, the volume unused, the stream's
// channel usable, the archive's folder writable, and room for the data where it goes.
// Private to src/actions/ (docker_volume.cpp and docker_volume_room.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <rollback/actions/docker_common.hpp>
#include <rollback/proc/runner.hpp>
#include <rollback/util/archive.hpp>

namespace rollback::actions::docker {

std::string image_of(const Params& p);
// The `archive` parameter made absolute.
std::filesystem::path archive_path(const Params& p);
// The archive a restore reads: the name given, else the same name under another supported
// extension (a target made before .tar.zst, or by the runbook's own `tar czf`).
std::filesystem::path existing_archive(const Params& p);
Compression compression_of(const Params& p);
bool keep_special(const Params& p);

// A running container on the volume: a restore under it corrupts what it runs.
Status check_unused(ActionContext& ctx, const Params& p, const std::string& volume);
// Everything a restore needs from its source, checked without changing anything. The image
// check is also the daemon check: explain() turns "cannot connect" into "daemon not reachable".
Result<ArchiveFacts> check_restore_source(ActionContext& ctx, const Params& p);
// The stream's FIFO can be made in the runtime dir (util/runtime_dir.hpp).
Status check_channel(ActionContext& ctx);
// A backup's archive folder (or its nearest existing parent) takes writes: not a read-only
// mount, not a folder this user cannot write.
Status check_writable(ActionContext& ctx, const std::filesystem::path& dir);

// docker_volume_room.cpp: room for a restore, from the archive's unpacked size.
// KiB the archive takes once extracted (its tar bytes plus a block per entry).
std::uint64_t unpacked_need_kib(const ArchiveFacts& facts);
// Refuses, before anything stops, when the volume's filesystem cannot hold the archive
// (its free space plus what emptying the volume frees, when `clean`). Measured on the host
// for a plain local volume, else in a helper container.
Status check_restore_room(ActionContext& ctx, const Params& p, const std::string& volume, const ArchiveFacts& facts,
                          bool clean);
// The shell lines the restore helper runs before it empties the volume: the same check,
// made where the data goes, exiting 75 with a marker when it fails. `$1` is the need in KiB.
std::string room_shell_check(bool clean);
// The error for a restore helper that refused (the marker) or ran out of space (ENOSPC),
// naming the volume; nothing for any other failure.
std::optional<Error> room_refusal(const ActionContext& ctx, const std::string& volume, std::uint64_t need_kib,
                                  const proc::Completed& helper);

}  // namespace rollback::actions::docker
