// docker.volume.*: the runbook's data steps. A backup streams the volume's tar out of a
// helper container and compresses it on the host (zstd by default, gzip or none by name or
// `compress:`), hashing and checking it as it is written under a temporary name, renamed
// only when complete: a crashed backup never looks like a good one. A restore proves its
// archive whole (hash, decompression, tar structure, in one pass), its helper image present
// and its volume unused BEFORE it touches the volume: a bad backup must stop the rollback
// while the current data is still there (field lesson 5).
#include <fmt/format.h>

#include <filesystem>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/docker_rehearse.hpp>
#include <rollback/actions/docker_volume_stream.hpp>
#include <rollback/actions/docker_volume_use.hpp>
#include <rollback/actions/unfinished_file.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/runtime_dir.hpp>

#include "docker_volume_checks.hpp"

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

// What the default restore leaves out, said in the step's message ("" when nothing).
std::string special_note(std::uint64_t dropped, std::uint64_t cleared, bool future) {
  std::vector<std::string> parts;
  if (dropped > 0)
    parts.push_back(fmt::format("{} {} special file(s) (devices, FIFOs)", future ? "drops" : "dropped", dropped));
  if (cleared > 0) parts.push_back(fmt::format("{} setuid/setgid on {}", future ? "clears" : "cleared", cleared));
  if (parts.empty()) return "";
  return fmt::format("; {} (special_files: keep restores them)", fmt::join(parts, " and "));
}

Outcome preflight_restore(ActionContext& ctx, const Params& p) {
  // Whether the volume is in use is only known when the step runs: the plan's earlier
  // steps (compose down, docker.stop) are what stop its users.
  auto facts = check_restore_source(ctx, p);
  if (!facts) return to_outcome(facts.error());
  if (auto channel = check_channel(ctx); !channel) return to_outcome(channel.error());
  if (auto room = check_restore_room(ctx, p, p.str("volume"), *facts, p.flag("clean", true)); !room)
    return to_outcome(room.error());
  // Counted, not refused: dropping a device node or a FIFO is safe, and a refusal would
  // block a rollback over a harmless FIFO in the middle of an incident.
  std::string note;
  if (keep_special(p)) {
    if (facts->special_entries + facts->setid_entries > 0)
      note = fmt::format("; keeps {} special file(s) and {} setuid/setgid (special_files: keep)",
                         facts->special_entries, facts->setid_entries);
  } else {
    note = special_note(facts->special_entries, facts->setid_entries, true);
  }
  return Outcome::success(fmt::format("{} ({}, {} entries) reads whole, image {} present{}", existing_archive(p).string(),
                                      to_string(facts->compression), facts->entries, image_of(p), note));
}

Outcome run_restore(ActionContext& ctx, const Params& p) {
  // Checked again at run time: preflight may have been minutes ago (the proof is reused
  // while the file is unchanged), and the action must be safe on its own.
  auto proved = check_restore_source(ctx, p);
  if (!proved) return to_outcome(proved.error());
  auto volume = p.str("volume");
  if (auto unused = check_unused(ctx, p, volume); !unused) return to_outcome(unused.error());
  auto exists = volume_exists(ctx, p, volume);
  if (!exists) return to_outcome(exists.error());
  if (!*exists) {
    auto argv = docker_argv(p);
    argv.insert(argv.end(), {"volume", "create", "--", volume});
    if (auto made = run_checked(ctx, p, argv, {.cap = kShortCommand}); !made) return to_outcome(made.error());
  }
  auto archive = existing_archive(p);
  bool clean = *exists && p.flag("clean", true);
  auto restored = stream_restore(ctx, p, volume, archive,
                                 {.clean = clean, .keep_special = keep_special(p), .need_kib = unpacked_need_kib(*proved)});
  if (!restored) return to_outcome(restored.error());
  auto outcome = Outcome::success();
  outcome.data = {{"archive", archive.string()}, {"format", to_string(proved->compression)},
                  {"entries", proved->entries}, {"forced", p.flag("force")},
                  {"special_files", keep_special(p) ? "keep" : "drop"}, {"special_dropped", restored->dropped},
                  {"setid_cleared", restored->cleared}};
  outcome.say("volume.restored", "volume {} restored from {} ({})",
              {volume, archive.string(), std::string(to_string(proved->compression))});
  if (!*exists) outcome.say("volume.created", ", created");
  else if (clean) outcome.say("volume.emptied_first", ", emptied first");
  else outcome.say("volume.merged", ", merged");
  if (p.flag("force")) outcome.say("volume.forced", ", under running containers (force)");
  if (restored->dropped > 0 || restored->cleared > 0)
    outcome.say("volume.special_files",
                "; dropped {} special file(s) (devices, FIFOs) and cleared setuid/setgid on {} (special_files: keep "
                "restores them)",
                {std::to_string(restored->dropped), std::to_string(restored->cleared)});
  outcome.observations.push_back({volume, "restored from " + archive.filename().string(), true});
  return outcome;
}

Outcome preflight_backup(ActionContext& ctx, const Params& p) {
  if (auto writable = check_writable(ctx, archive_path(p).parent_path()); !writable) return to_outcome(writable.error());
  if (auto channel = check_channel(ctx); !channel) return to_outcome(channel.error());
  auto exists = volume_exists(ctx, p, p.str("volume"));
  if (!exists) return to_outcome(exists.error());
  if (!*exists)
    return Outcome::failure(fmt::format("{}volume {} does not exist (docker volume ls lists the volumes there are)",
                                        step_prefix(ctx), p.str("volume")));
  if (auto image = check_image_present(ctx, p, image_of(p)); !image) return to_outcome(image.error());
  return Outcome::success(fmt::format("volume {} exists, image {} present", p.str("volume"), image_of(p)));
}

Outcome run_backup(ActionContext& ctx, const Params& p) {
  if (auto ready = preflight_backup(ctx, p); !ready.ok) return ready;
  auto volume = p.str("volume");
  auto archive = archive_path(p);
  if (auto made = make_private_dirs(archive.parent_path()); !made) return Outcome::failure(step_prefix(ctx) + made.error().message);
  // A point-in-time copy: the containers writing to the volume are paused for the copy,
  // unless the plan accepts a live one.
  bool live = p.str("consistency", "pause") == "live";
  PausedContainers paused(ctx, p);
  if (!live)
    if (auto held = paused.pause_users_of(volume); !held) return to_outcome(held.error());
  UnfinishedFile file(ctx, archive);
  auto room = [&](std::uint64_t volume_bytes) -> Status {
    if (!p.flag("check_space", true)) return ok();
    return check_room(archive.parent_path(), volume_bytes, "the archive of volume " + volume);
  };
  auto written = stream_backup(ctx, p, volume, file.path(), compression_of(p), room);
  paused.release();  // the copy is complete: the tail of the compression needs no pause
  if (!written) return to_outcome(written.error());
  if (auto committed = file.commit(); !committed) return Outcome::failure(step_prefix(ctx) + committed.error().message);
  const auto& facts = written->facts;
  remember_written_archive(archive, facts);
  auto outcome = Outcome::success();
  outcome.data = {{"bytes", facts.stored_bytes}, {"tar_bytes", facts.tar_bytes}, {"sha256", facts.sha256},
                  {"format", to_string(facts.compression)}, {"consistency", live ? "live" : "pause"},
                  {"paused", paused.names()}, {"paused_ms", paused.paused_for().count()}};
  outcome.say("volume.backed_up", "volume {} -> {} ({}, {} of {}, {} entries)",
              {volume, archive.string(), std::string(to_string(facts.compression)), human_size(facts.stored_bytes),
               human_size(facts.tar_bytes), std::to_string(facts.entries)});
  if (live) outcome.say("volume.copied_live", ", copied live");
  else if (!paused.names().empty())
    outcome.say("volume.paused_for", ", {} paused for {}",
                {fmt::format("{}", fmt::join(paused.names(), ", ")), format_duration(paused.paused_for())});
  outcome.observations.push_back({archive.filename().string(), human_size(facts.stored_bytes), true});
  return outcome;
}

Outcome run_create(ActionContext& ctx, const Params& p) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"volume", "create", "--", p.str("volume")});
  if (auto done = run_checked(ctx, p, argv, {.cap = kShortCommand}); !done) return to_outcome(done.error());
  return Outcome::success(fmt::format("volume {} exists", p.str("volume")));
}

Outcome run_remove(ActionContext& ctx, const Params& p) {
  auto volume = p.str("volume");
  auto exists = volume_exists(ctx, p, volume);
  if (!exists) return to_outcome(exists.error());
  if (!*exists) {
    if (p.flag("must_exist")) return Outcome::failure(fmt::format("{}volume {} does not exist", step_prefix(ctx), volume));
    return Outcome::success(fmt::format("volume {} was already absent", volume));
  }
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"volume", "rm"});
  if (p.flag("force")) argv.push_back("-f");
  argv.insert(argv.end(), {"--", volume});
  auto done = run(ctx, p, argv, {.cap = kShortCommand});
  if (done && done->succeeded()) return Outcome::success(fmt::format("volume {} removed", volume));
  auto error = explain(ctx, p, "docker volume rm " + volume, done);
  if (done && done->err.find("in use") != std::string::npos)
    error.message += "; stop and remove the containers using it first (docker.compose down)";
  return to_outcome(error);
}

std::string describe_volume_run(const Params& p, bool restore) {
  auto archive = restore ? existing_archive(p) : archive_path(p);
  auto volume = p.str("volume");
  std::string channel = channel_for(p) == Channel::Fifo ? "through a FIFO in the runtime dir " + runtime_dir().string()
                                                        : "through the engine's archive API (docker cp)";
  if (!restore)
    return fmt::format("{}tar the volume {} in a {} helper, {}; compress ({}) and hash on the host into {}",
                       p.str("consistency", "pause") == "live" ? "" : "pause the containers using it, ", volume,
                       image_of(p), channel, to_string(compression_of(p)), archive.string());
  return fmt::format("prove {} whole (hash, decompression, tar) and that its unpacked size fits the volume; refuse if "
                     "a running container uses {}; {}extract it "
                     "into {} with a {} helper, {}{}",
                     archive.string(), volume, p.flag("clean", true) ? "empty the volume, then " : "", volume,
                     image_of(p), channel,
                     keep_special(p) ? "; device nodes, FIFOs, setuid and setgid kept (special_files: keep)"
                                     : "; without device nodes or FIFOs, setuid and setgid cleared");
}

std::vector<ParamSpec> volume_params(std::vector<ParamSpec> extra) {
  std::vector<ParamSpec> params{
      param("volume").required().names(plan::Names::Identifier).doc("the name of the Docker volume")};
  params.insert(params.end(), extra.begin(), extra.end());
  return with_engine(std::move(params));
}

std::vector<ParamSpec> stream_params(std::vector<ParamSpec> extra) {
  extra.insert(extra.begin(), {
      param("archive").required().names(plan::Names::Path)
          .doc("the archive file; backup takes the format from its name, restore also finds it under the others"),
      param("image").names(plan::Names::Identifier)
          .doc("the helper image that runs tar; it must already be on the host (default alpine:3)"),
      param("channel").choices({"auto", "fifo", "api"})
          .doc("how the tar stream travels: a FIFO in the runtime dir or the engine API (auto: api if remote)")});
  return volume_params(std::move(extra));
}

void validate_archive(ParamCheck& check) {
  auto archive = check.literal("archive");
  if (archive && !compression_from_name(*archive) && !check.has("compress"))
    check.error("archive", fmt::format("archive \"{}\" should end in .tar.zst, .tar.gz, .tgz or .tar (or set "
                                       "`compress:`)",
                                       *archive));
}

void end_held(CleanupContext& c) {
  remove_helpers(c);
  unpause_held(c);
  remove_held_files(c);
}

}  // namespace

void register_volume_actions(Registry& registry) {
  registry.add(Action{
      .name = "docker.volume.backup",
      .summary = "archive a volume (zstd, gzip or plain tar, compressed and hashed on the host; writers paused)",
      .params = stream_params({
          param("check_space", ParamType::Bool)
              .doc("refuse unless the archive's folder has the volume's size + 10% + 16 MB free (default true)"),
          param("compress").choices({"zstd", "gzip", "none"})
              .doc("the compression, overriding the archive's name (default: by name, else zstd)"),
          param("level", ParamType::Int).doc("the compression level (default: 1 for zstd, 3 for gzip)"),
          param("consistency").choices({"pause", "live"})
              .doc("pause the running containers using the volume during the copy, or copy live (default pause)")}),
      .destructive = false,
      .rerun_safe = true,
      .validate = validate_archive,
      .describe = [](const Params& p) { return describe_volume_run(p, false); },
      .preflight = preflight_backup,
      .run = run_backup,
      .cleanup = end_held,
      .rehearse = not_rehearsed("not rehearsed: a backup (the rehearsal restores, it does not back up)"),
  });
  registry.add(Action{
      .name = "docker.volume.restore",
      .summary = "replace a volume's content with an archive, after proving the archive whole and the volume unused",
      .params = stream_params({
          param("clean", ParamType::Bool)
              .doc("empty an existing volume before extracting (default true; false merges)"),
          param("force", ParamType::Bool).doc("restore even while running containers use the volume (default false)"),
          param("special_files").choices({"drop", "keep"})
              .doc("drop (default): extract no device nodes or FIFOs and clear setuid/setgid, counted in the step's "
                   "message; keep: restore them exactly. Preflight counts them but does not refuse: dropping is "
                   "safe, and a refusal would block a rollback over a harmless FIFO")}),
      .destructive = true,
      .rerun_safe = true,
      .validate = validate_archive,
      .describe = [](const Params& p) { return describe_volume_run(p, true); },
      .preflight = preflight_restore,
      .run = run_restore,
      .cleanup = end_held,
      .rehearse = rehearse_volume,
  });
  registry.add(Action{
      .name = "docker.volume.create",
      .summary = "create a volume (nothing to do when it exists)",
      .params = volume_params({}),
      .describe = [](const Params& p) { return proc::display_command({"docker", "volume", "create", p.str("volume")}); },
      .preflight =
          [](ActionContext& ctx, const Params& p) {
            if (auto daemon = check_daemon(ctx, p); !daemon) return to_outcome(daemon.error());
            return Outcome::success("daemon answering");
          },
      .run = run_create,
      .rehearse = rehearse_volume,
  });
  registry.add(Action{
      .name = "docker.volume.remove",
      .summary = "remove a volume (absent is fine unless must_exist)",
      .params = volume_params({
          param("must_exist", ParamType::Bool)
              .doc("fail when the volume does not exist (default false: absent is fine)"),
          param("force", ParamType::Bool).doc("pass -f to docker volume rm (default false)")}),
      .destructive = true,
      .describe = [](const Params& p) { return proc::display_command({"docker", "volume", "rm", p.str("volume")}); },
      .run = run_remove,
      .rehearse = rehearse_volume,
  });
  registry.add_copy_kind(rehearsal_copies());  // docker_rehearse.cpp
}

}  // namespace rollback::actions::docker
