// The data path of docker.volume.backup / restore: the helper container only runs `tar`;
// rollback compresses, decompresses, hashes and checks the stream on the host.
//
// The channel was chosen by measurement (shared/field-lessons.md 14: for a 2.2 GB volume,
// the docker CLI's attached stdout took 3 min 11 s, a FIFO in a bind-mounted host dir
// 6.7 s, the engine's archive API 12 s):
// - fifo: a FIFO made in a private folder of the runtime dir (util/runtime_dir.hpp), which
//   the helper mounts at /stream; needs the engine on this host (the default). Not beside
//   the archive: a restore must work from a read-only backup mount;
// - api: `docker cp` to and from a created (not started) helper, through a local FIFO; for
//   a remote engine (a `host` other than unix://, a `context`, or such a DOCKER_HOST).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <rollback/actions/docker_common.hpp>
#include <rollback/util/archive.hpp>

namespace rollback::actions::docker {

enum class Channel { Fifo, Api };
// The `channel` parameter, else api for a remote engine, else fifo.
Channel channel_for(const Params& p);

struct BackupResult {
  ArchiveFacts facts;
  std::uint64_t volume_bytes = 0;  // what the helper measured before the copy
};

// Streams `volume`'s tar into an archive written at `into` (a temporary name). `room` is
// asked, with the volume's size, before the first byte is written; its error stops the
// copy. Errors say what failed (the helper, the stream, the room).
Result<BackupResult> stream_backup(ActionContext& ctx, const Params& p, const std::string& volume,
                                   const std::filesystem::path& into, Compression compression,
                                   const std::function<Status(std::uint64_t)>& room);

struct RestoreResult {
  ArchiveFacts facts;
  std::uint64_t dropped = 0;  // device nodes and FIFOs (and hard links to them) left out
  std::uint64_t cleared = 0;  // entries extracted without their setuid/setgid bits
};

struct RestoreOptions {
  bool clean = true;            // empty the volume first
  bool keep_special = false;    // device nodes, FIFOs, setuid and setgid kept as archived
  std::uint64_t need_kib = 0;   // the archive's unpacked size: the helper refuses to empty
                                // the volume when its filesystem cannot hold that much
};

// Empties `volume` (when `clean`) and extracts the archive at `from` into it, without
// device nodes, FIFOs, setuid or setgid unless `keep_special` (util/tar_filter.hpp). The
// helper first checks the room where the data goes; no room is "no space left on volume X",
// before anything was emptied.
Result<RestoreResult> stream_restore(ActionContext& ctx, const Params& p, const std::string& volume,
                                     const std::filesystem::path& from, const RestoreOptions& options);

}  // namespace rollback::actions::docker
