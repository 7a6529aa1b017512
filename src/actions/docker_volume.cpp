// docker.volume.*: the runbook's data steps. A backup is the runbook's
// `docker run --rm -v VOL:/data -v DIR:/backup alpine tar czf /backup/NAME -C /data .`,
// written under a temporary name and renamed only once `tar tzf` reads it back, so a
// crashed backup never looks like a good one. A restore proves its archive readable, its
// helper image present and the daemon answering BEFORE it touches the volume: a bad
// backup must stop the rollback while the current data is still there (field lesson 5).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/unfinished_file.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

std::string image_of(const Params& p) { return p.str("image", kDefaultHelperImage); }

fs::path archive_path(const Params& p) {
  std::error_code ec;
  auto path = fs::absolute(p.str("archive"), ec);
  return ec ? fs::path(p.str("archive")) : path.lexically_normal();
}

// Reads the whole archive with the host's tar: a truncated or corrupt gzip fails here.
Status check_archive_readable(ActionContext& ctx, const fs::path& archive) {
  auto where = step_prefix(ctx);
  std::error_code ec;
  if (!fs::exists(archive, ec)) return fail(fmt::format("{}archive {} does not exist", where, archive.string()));
  if (!fs::is_regular_file(archive, ec))
    return fail(fmt::format("{}archive {} is not a regular file", where, archive.string()));
  if (fs::file_size(archive, ec) == 0) return fail(fmt::format("{}archive {} is empty", where, archive.string()));
  if (proven_unchanged(archive, "tar -tzf")) return ok();
  auto proof = start_proof(archive);
  proc::Command command;
  command.argv = {"tar", "-tzf", archive.string()};
  command.timeout = ctx.remaining(Millis(0));
  command.capture_limit = 4096;  // the listing itself is not needed, only whether it reads
  auto done = ctx.runner.run(command);
  if (!done) return fail(fmt::format("{}cannot run tar to check {}: {}", where, archive.string(), done.error().message));
  if (!done->succeeded())
    return fail(fmt::format("{}archive {} is not a readable tar.gz (tar -tzf: {}{}{})", where,
                            archive.string(), done->outcome(), last_error_line(*done).empty() ? "" : ", ",
                            last_error_line(*done)));
  remember_proof(proof, "tar -tzf");
  return ok();
}

// Everything a restore needs, checked without changing anything. The image check is also
// the daemon check: explain() turns "cannot connect" into "daemon not reachable at ...".
Status check_restore_source(ActionContext& ctx, const Params& p) {
  RB_TRY(check_mountable(ctx, archive_path(p).parent_path()));
  RB_TRY(check_archive_readable(ctx, archive_path(p)));
  RB_TRY(check_image_present(ctx, p, image_of(p)));
  return ok();
}

Outcome preflight_restore(ActionContext& ctx, const Params& p) {
  if (auto checked = check_restore_source(ctx, p); !checked) return to_outcome(checked.error());
  return Outcome::success(fmt::format("{} readable, image {} present", archive_path(p).string(), image_of(p)));
}

// For dry-run lines: the helper's real name is only known when it runs.
std::vector<std::string> described_helper(const Params& p, const std::vector<std::string>& mounts,
                                          const std::vector<std::string>& command) {
  return helper_argv(p, Helper{"rb-RUN-STEP-XXXX", {}}, mounts, image_of(p), command);
}

Outcome run_restore(ActionContext& ctx, const Params& p) {
  // Checked again at run time: preflight may have been minutes ago, and the action must be
  // safe on its own whoever calls it.
  if (auto checked = check_restore_source(ctx, p); !checked) return to_outcome(checked.error());
  auto volume = p.str("volume");
  auto archive = archive_path(p);
  auto exists = volume_exists(ctx, p, volume);
  if (!exists) return to_outcome(exists.error());
  if (!*exists) {
    auto argv = docker_argv(p);
    argv.insert(argv.end(), {"volume", "create", volume});
    if (auto made = run_checked(ctx, p, argv, {.cap = kShortCommand}); !made) return to_outcome(made.error());
  }
  // One helper container empties the volume (files created since the backup must not
  // survive the restore) and extracts. The archive name reaches the script as $1, never
  // inside the script text.
  bool clean = *exists && p.flag("clean", true);
  std::string script = clean ? "find /data -mindepth 1 -maxdepth 1 -exec rm -rf {} + && tar -xzf \"$1\" -C /data"
                             : "tar -xzf \"$1\" -C /data";
  auto helper = helper_for(ctx);
  auto argv = helper_argv(p, helper, {volume + ":/data", archive.parent_path().string() + ":/backup:ro"}, image_of(p),
                          {"sh", "-c", script, "restore", "/backup/" + archive.filename().string()});
  auto done = run_helper(ctx, p, helper, argv);
  if (!done || !done->succeeded()) return to_outcome(explain(ctx, p, redact(proc::display_command(argv)), done));
  auto outcome = Outcome::success(fmt::format("volume {} restored from {}{}", volume, archive.string(),
                                              *exists ? (p.flag("clean", true) ? " (emptied first)" : " (merged)")
                                                      : " (created)"));
  outcome.observations.push_back({volume, "restored", true});
  return outcome;
}

Outcome preflight_backup(ActionContext& ctx, const Params& p) {
  if (auto mountable = check_mountable(ctx, archive_path(p).parent_path()); !mountable)
    return to_outcome(mountable.error());
  auto exists = volume_exists(ctx, p, p.str("volume"));
  if (!exists) return to_outcome(exists.error());
  if (!*exists)
    return Outcome::failure(fmt::format("{}volume {} does not exist (docker volume ls lists the "
                                        "volumes there are)",
                                        step_prefix(ctx), p.str("volume")));
  if (auto image = check_image_present(ctx, p, image_of(p)); !image) return to_outcome(image.error());
  return Outcome::success(fmt::format("volume {} exists, image {} present", p.str("volume"), image_of(p)));
}

Outcome run_backup(ActionContext& ctx, const Params& p) {
  if (auto ready = preflight_backup(ctx, p); !ready.ok) return ready;
  auto archive = archive_path(p);
  auto dir = archive.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Outcome::failure(fmt::format("{}cannot create {}: {}", step_prefix(ctx), dir.string(), ec.message()));
  UnfinishedFile file(ctx, archive);
  auto partial = file.path().filename().string();
  // The helper measures the volume and the room where the archive goes, and writes nothing
  // when it would not fit (rule: util/disk.hpp's space_needed): a backup that fills the disk
  // takes down whatever else writes there. The numbers come back on stderr, exit 75.
  std::string script = "tar -czf \"/backup/$1\" -C /data .";
  if (p.flag("check_space", true))
    script = "need=$(du -sk /data | cut -f1); free=$(df -Pk /backup | awk 'NR==2 {print $4}'); "
             "if [ \"$free\" -lt $((need + need / 10 + 16384)) ]; then echo \"rollback-space $need $free\" >&2; "
             "exit 75; fi; " + script;
  auto helper = helper_for(ctx);
  auto argv = helper_argv(p, helper, {p.str("volume") + ":/data:ro", dir.string() + ":/backup"}, image_of(p),
                          {"sh", "-c", script, "backup", partial});
  auto done = run_helper(ctx, p, helper, argv);
  if (!done || !done->succeeded()) {
    unsigned long long need_kib = 0, free_kib = 0;
    if (done && done->exit_code == 75 &&
        std::sscanf(done->err.c_str(), "rollback-space %llu %llu", &need_kib, &free_kib) == 2)
      return Outcome::failure(step_prefix(ctx) + no_room_message(dir, need_kib * 1024, free_kib * 1024,
                                                                 "the archive of volume " + p.str("volume")));
    return to_outcome(explain(ctx, p, redact(proc::display_command(argv)), done));
  }
  if (auto readable = check_archive_readable(ctx, file.path()); !readable) return to_outcome(readable.error());
  if (auto committed = file.commit(); !committed) return Outcome::failure(step_prefix(ctx) + committed.error().message);
  auto size = fs::file_size(archive, ec);
  auto outcome = Outcome::success(fmt::format("volume {} -> {} ({} bytes, verified readable)",
                                              p.str("volume"), archive.string(), size));
  outcome.observations.push_back({archive.filename().string(), fmt::format("{} bytes", size), true});
  outcome.data["bytes"] = size;
  return outcome;
}

Outcome run_create(ActionContext& ctx, const Params& p) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"volume", "create", p.str("volume")});
  if (auto done = run_checked(ctx, p, argv, {.cap = kShortCommand}); !done) return to_outcome(done.error());
  return Outcome::success(fmt::format("volume {} exists", p.str("volume")));
}

Outcome run_remove(ActionContext& ctx, const Params& p) {
  auto volume = p.str("volume");
  auto exists = volume_exists(ctx, p, volume);
  if (!exists) return to_outcome(exists.error());
  if (!*exists) {
    if (p.flag("must_exist"))
      return Outcome::failure(fmt::format("{}volume {} does not exist", step_prefix(ctx), volume));
    return Outcome::success(fmt::format("volume {} was already absent", volume));
  }
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"volume", "rm"});
  if (p.flag("force")) argv.push_back("-f");
  argv.push_back(volume);
  auto done = run(ctx, p, argv, {.cap = kShortCommand});
  if (done && done->succeeded()) return Outcome::success(fmt::format("volume {} removed", volume));
  auto error = explain(ctx, p, "docker volume rm " + volume, done);
  if (done && done->err.find("in use") != std::string::npos)
    error.message += "; stop and remove the containers using it first (docker.compose down)";
  return to_outcome(error);
}

std::string describe_volume_run(const Params& p, bool restore) {
  auto archive = archive_path(p);
  auto dir = archive.parent_path().string();
  auto name = archive.filename().string();
  if (!restore)
    return proc::display_command(described_helper(p, {p.str("volume") + ":/data:ro", dir + ":/backup"},
                                            {"tar", "czf", "/backup/" + name, "-C", "/data", "."}));
  std::string text = fmt::format("check {} (tar -tzf) and image {}; ", archive.string(), image_of(p));
  if (p.flag("clean", true)) text += "empty volume " + p.str("volume") + "; ";
  return text + proc::display_command(described_helper(p, {p.str("volume") + ":/data", dir + ":/backup:ro"},
                                                 {"tar", "xzf", "/backup/" + name, "-C", "/data"}));
}

std::vector<ParamSpec> volume_params(std::vector<ParamSpec> extra) {
  std::vector<ParamSpec> params{param("volume").required().names(plan::Names::Identifier), param("context").names(plan::Names::Identifier),
                                param("host").names(plan::Names::Identifier)};
  params.insert(params.end(), extra.begin(), extra.end());
  return params;
}

void validate_archive(ParamCheck& check) {
  if (auto archive = check.literal("archive"); archive && !archive->ends_with(".tar.gz") && !archive->ends_with(".tgz"))
    check.error("archive", fmt::format("archive must be a .tar.gz (or .tgz) file, not \"{}\"", *archive));
}

}  // namespace

void register_volume_actions(Registry& registry) {
  registry.add(Action{
      .name = "docker.volume.backup",
      .summary = "archive a volume's content into a .tar.gz on the host (verified readable)",
      .params = volume_params({param("archive").required().names(plan::Names::Path), param("image").names(plan::Names::Identifier),
                               param("check_space", ParamType::Bool)}),
      .destructive = false,
      .rerun_safe = true,
      .validate = validate_archive,
      .describe = [](const Params& p) { return describe_volume_run(p, false); },
      .preflight = preflight_backup,
      .run = run_backup,
      .cleanup = [](CleanupContext& c) {
        remove_helpers(c);
        remove_held_files(c);
      },
  });
  registry.add(Action{
      .name = "docker.volume.restore",
      .summary = "replace a volume's content with a .tar.gz, after proving the archive readable",
      .params = volume_params({param("archive").required().names(plan::Names::Path), param("image").names(plan::Names::Identifier),
                               param("clean", ParamType::Bool)}),
      .destructive = true,
      .rerun_safe = true,
      .validate = validate_archive,
      .describe = [](const Params& p) { return describe_volume_run(p, true); },
      .preflight = preflight_restore,
      .run = run_restore,
      .cleanup = remove_helpers,
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
  });
  registry.add(Action{
      .name = "docker.volume.remove",
      .summary = "remove a volume (absent is fine unless must_exist)",
      .params = volume_params({param("must_exist", ParamType::Bool), param("force", ParamType::Bool)}),
      .destructive = true,
      .describe = [](const Params& p) { return proc::display_command({"docker", "volume", "rm", p.str("volume")}); },
      .run = run_remove,
  });
}

}  // namespace rollback::actions::docker
