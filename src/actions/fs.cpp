// fs.*: the file steps of the runbooks (cp of compose and env files, mkdir of backup dirs,
// `ls -t /backups/staging-* | head -1`, SHA256SUMS). Copies are atomic per file, so a
// crash never leaves a half-written docker-compose.yml behind; what they create is
// owner-only by default (the copied env file holds credentials).
#include <fmt/format.h>
#include <regex>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

#include <rollback/actions/adapters.hpp>
#include <rollback/util/checksums.hpp>
#include <rollback/util/fs.hpp>

#include "fs_rehearse.hpp"

namespace rollback::actions {
namespace {
namespace fs = std::filesystem;

// What fs.copy and fs.mkdir create. Backups and the files copied into them (env files with
// credentials) stay owner-only unless the plan's `mode:` says otherwise.
struct Modes {
  std::optional<unsigned> file;  // unset: the source's owner bits, group and other removed
  unsigned dir = 0700;
};

// `mode:` as octal permissions ("0640", "640"); nullopt when it is not that.
std::optional<unsigned> parse_mode(const std::string& text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (mode > 0777) return std::nullopt;  // no setuid, setgid or sticky bits from a plan
  return mode;
}

// A dir beside files of `mode` can be entered by whoever may read them (0640 -> 0750).
unsigned dir_mode_for(unsigned file_mode) { return 0700 | (file_mode & 0044) | ((file_mode & 0044) >> 2); }

Result<Modes> modes_of(const Params& p) {
  Modes modes;
  if (!p.has("mode")) return modes;
  auto mode = parse_mode(p.str("mode"));
  if (!mode) return fail(fmt::format("mode: \"{}\" is not octal permissions such as 0600 or 0644", p.str("mode")));
  modes.file = *mode;
  modes.dir = dir_mode_for(*mode);
  return modes;
}

Status copy_file_atomic(const fs::path& from, const fs::path& to, const Modes& modes) {
  auto content = read_file(from);
  if (!content) return std::unexpected(content.error());
  if (to.has_parent_path()) RB_TRY(make_dirs(to.parent_path(), modes.dir));
  RB_TRY(write_file_atomic(to, *content));  // created 0600: never readable by others, not even briefly
  std::error_code ec;
  auto owner_bits = fs::status(from, ec).permissions() & fs::perms::owner_all;
  fs::permissions(to, modes.file ? static_cast<fs::perms>(*modes.file) : owner_bits, ec);
  if (ec) return fail(fmt::format("cannot set the mode of {}: {}", to.string(), ec.message()));
  return ok();
}

Status copy_tree(const fs::path& from, const fs::path& to, const Modes& modes) {
  std::error_code ec;
  if (fs::is_directory(from)) {
    RB_TRY(make_dirs(to, modes.dir));
    for (const auto& entry : fs::directory_iterator(from, ec)) {
      RB_TRY(copy_tree(entry.path(), to / entry.path().filename(), modes));
    }
    if (ec) return fail(fmt::format("cannot list {}: {}", from.string(), ec.message()));
    return ok();
  }
  return copy_file_atomic(from, to, modes);
}

// `to` names a directory to copy into when it ends with '/' or already is one.
fs::path destination(const fs::path& from, const std::string& to) {
  if ((!to.empty() && to.back() == '/') || fs::is_directory(to)) return fs::path(to) / from.filename();
  return fs::path(to);
}

Outcome check_source(const Params& p) {
  fs::path from = p.str("from");
  std::error_code ec;
  if (!fs::exists(from, ec))
    return Outcome::failure(fmt::format("source {} does not exist", from.string()));
  if (p.flag("contents") && !fs::is_directory(from, ec))
    return Outcome::failure(fmt::format("contents: true needs a directory, {} is not one", from.string()));
  return Outcome::success(fmt::format("{} exists", from.string()));
}

Outcome run_copy(ActionContext&, const Params& p) {
  if (auto found = check_source(p); !found.ok) return found;
  auto modes = modes_of(p);
  if (!modes) return Outcome::failure(modes.error().message);
  fs::path from = p.str("from");
  if (p.flag("contents")) {
    std::error_code ec;
    size_t count = 0;
    if (auto made = make_dirs(p.str("to"), modes->dir); !made) return Outcome::failure(made.error().message);
    for (const auto& entry : fs::directory_iterator(from, ec)) {
      if (auto copied = copy_tree(entry.path(), fs::path(p.str("to")) / entry.path().filename(), *modes); !copied)
        return Outcome::failure(copied.error().message);
      ++count;
    }
    return Outcome::success().say("fs.copied_entries", "copied {} entries of {} into {}",
                                  {std::to_string(count), from.string(), p.str("to")});
  }
  auto to = destination(from, p.str("to"));
  if (auto copied = copy_tree(from, to, *modes); !copied) return Outcome::failure(copied.error().message);
  return Outcome::success().say("fs.copied", "copied {} to {}", {from.string(), to.string()});
}

Outcome run_move(ActionContext&, const Params& p) {
  if (auto found = check_source(p); !found.ok) return found;
  fs::path from = p.str("from");
  auto to = destination(from, p.str("to"));
  std::error_code ec;
  if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
  fs::rename(from, to, ec);
  if (ec == std::errc::cross_device_link) {
    // A move keeps the modes it finds, as rename(2) does on one filesystem.
    Modes keep{.file = static_cast<unsigned>(fs::status(from, ec).permissions() & fs::perms::mask), .dir = 0700};
    if (auto copied = copy_tree(from, to, keep); !copied) return Outcome::failure(copied.error().message);
    fs::remove_all(from, ec);
  }
  if (ec) return Outcome::failure(fmt::format("cannot move {} to {}: {}", from.string(), to.string(), ec.message()));
  return Outcome::success().say("fs.moved", "moved {} to {}", {from.string(), to.string()});
}

// Dirs it creates are owner-only (0700) unless `mode:` says otherwise; existing ones are
// left as they are.
Outcome run_mkdir(ActionContext&, const Params& p) {
  unsigned mode = 0700;
  if (p.has("mode")) {
    auto asked = parse_mode(p.str("mode"));
    if (!asked) return Outcome::failure(fmt::format("mode: \"{}\" is not octal permissions such as 0700 or 0755", p.str("mode")));
    mode = *asked;
  }
  if (auto made = make_dirs(p.str("path"), mode); !made) return Outcome::failure(made.error().message);
  return Outcome::success().say("fs.exists", "{} exists", {p.str("path")});
}

// A literal `mode:` is checked when the plan loads.
void validate_mode(ParamCheck& check) {
  if (auto mode = check.literal("mode"); mode && !parse_mode(*mode))
    check.error("mode", fmt::format("mode: \"{}\" is not octal permissions such as 0600, 0640 or 0755", *mode));
}

Outcome run_remove(ActionContext&, const Params& p) {
  fs::path path = p.str("path");
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) {
    if (p.flag("must_exist")) return Outcome::failure(fmt::format("{} does not exist", path.string()));
    return Outcome::success().say("fs.already_absent", "{} was already absent", {path.string()});
  }
  auto removed = fs::remove_all(path, ec);
  if (ec) return Outcome::failure(fmt::format("cannot remove {}: {}", path.string(), ec.message()));
  return Outcome::success().say("fs.removed", "removed {} ({} entries)", {path.string(), std::to_string(removed)});
}

// The newest match by modification time, like `ls -t GLOB | head -1`.
Outcome run_latest(ActionContext& ctx, const Params& p) {
  glob_t matches{};
  int rc = ::glob(p.str("glob").c_str(), 0, nullptr, &matches);
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  std::string kind = p.str("kind", "any");
  for (size_t i = 0; rc == 0 && i < matches.gl_pathc; ++i) {
    fs::path path = matches.gl_pathv[i];
    std::error_code ec;
    if (kind == "file" && !fs::is_regular_file(path, ec)) continue;
    if (kind == "dir" && !fs::is_directory(path, ec)) continue;
    found.emplace_back(fs::last_write_time(path, ec), path.string());
  }
  ::globfree(&matches);
  if (found.empty()) return Outcome::failure(fmt::format("nothing matches {}", p.str("glob")));
  std::sort(found.begin(), found.end(), std::greater<>());
  const auto& newest = found.front().second;
  // `capture`: a part of the newest file's name (the commit in pre-deploy-<time>-<commit>.dump).
  std::string captured;
  if (p.has("capture")) {
    std::smatch match;
    std::string name = fs::path(newest).filename().string();
    try {
      std::regex re(p.str("capture"));
      if (!std::regex_search(name, match, re) || match.size() < 2 || !match[1].matched)
        return Outcome::failure(fmt::format("the newest match {} does not match capture /{}/", newest, p.str("capture")));
    } catch (const std::regex_error& e) {
      return Outcome::failure(fmt::format("capture: not a valid regular expression: {}", e.what()));
    }
    captured = match[1].str();
  }
  ctx.set_var(p.str("into"), newest);
  if (p.has("capture")) ctx.set_var(p.str("capture_into"), captured);
  auto outcome = Outcome::success(fmt::format("{} = {} (newest of {}){}", p.str("into"), newest, found.size(),
                                              p.has("capture") ? fmt::format("; {} = {}", p.str("capture_into"), captured)
                                                               : ""));
  outcome.observations.push_back({p.str("into"), newest, true});
  if (p.has("capture")) outcome.observations.push_back({p.str("capture_into"), captured, true});
  return outcome;
}

void validate_latest(ParamCheck& check) {
  if (check.has("capture") != check.has("capture_into"))
    check.error(check.has("capture") ? "capture" : "capture_into", "`capture` and `capture_into` go together");
  if (auto re = check.literal("capture")) {
    try {
      std::regex compiled(*re);
      if (compiled.mark_count() < 1) check.error("capture", "capture needs a group, such as '-([0-9a-f]{40})\\.dump$'");
    } catch (const std::regex_error& e) {
      check.error("capture", fmt::format("not a valid regular expression: {}", e.what()));
    }
  }
}

Outcome run_sleep(ActionContext& ctx, const Params& p) {
  auto total = p.duration("duration", Millis(0));
  auto until = std::chrono::steady_clock::now() + total;
  while (std::chrono::steady_clock::now() < until) {
    if (proc::cancel_requested()) return Outcome::failure("interrupted");
    if (std::chrono::steady_clock::now() >= ctx.deadline) return Outcome::failure("timed out", true);
    std::this_thread::sleep_for(std::min<Millis>(Millis(50), total));
  }
  return Outcome::success(fmt::format("slept {}", format_duration(total)));
}

Outcome preflight_source(ActionContext&, const Params& p) { return check_source(p); }

void validate_remove(ParamCheck& check) {
  auto path = check.literal("path");
  if (path && (*path == "/" || *path == "." || *path == ".." || path->empty()))
    check.error("path", fmt::format("refusing to remove \"{}\"", *path));
}

}  // namespace

void register_fs_actions(Registry& registry) {
  auto describe_from_to = [](std::string verb) {
    return [verb](const Params& p) { return fmt::format("{} {} -> {}", verb, p.str("from"), p.str("to")); };
  };
  registry.add(Action{.name = "fs.copy",
                      .summary = "copy a file or directory (atomically per file; owner-only unless `mode` says otherwise)",
                      .params = {param("from").required().names(plan::Names::Path).doc("the file or folder to copy"),
                                 param("to").required().names(plan::Names::Path)
                                     .doc("the destination; into it when it is a folder or ends in /"),
                                 param("contents", ParamType::Bool)
                                     .doc("copy the entries of folder from into to, not from itself (default false)"),
                                 param("mode")
                                     .doc("octal mode of copied files, such as 0640 (default: source's owner bits)")},
                      .validate = validate_mode,
                      .describe = [](const Params& p) {
                        return fmt::format("copy {} -> {}{}", p.str("from"), p.str("to"),
                                           p.has("mode") ? " (mode " + p.str("mode") + ")" : "");
                      },
                      .preflight = preflight_source,
                      .run = run_copy,
                      .rehearse = fs_rehearse::copy});
  registry.add(Action{.name = "fs.move",
                      .summary = "move a file or directory",
                      .params = {param("from").required().names(plan::Names::Path).doc("the file or folder to move"),
                                 param("to").required().names(plan::Names::Path)
                                     .doc("the destination; into it when it is a folder or ends in /")},
                      .rerun_safe = false,
                      .describe = describe_from_to("move"),
                      .preflight = preflight_source,
                      .run = run_move,
                      .rehearse = fs_rehearse::move});
  registry.add(Action{.name = "fs.mkdir",
                      .summary = "create a directory and its parents (0700 unless `mode` says otherwise)",
                      .params = {param("path").required().names(plan::Names::Path)
                                     .doc("the folder to create, with its parents"),
                                 param("mode")
                                     .doc("octal mode of the folders it creates, such as 0755 (default 0700)")},
                      .validate = validate_mode,
                      .describe = [](const Params& p) { return fmt::format("mkdir -p -m {} {}", p.str("mode", "0700"), p.str("path")); },
                      .run = run_mkdir,
                      .rehearse = fs_rehearse::mkdir});
  registry.add(Action{.name = "fs.remove",
                      .summary = "remove a file or directory tree",
                      .params = {param("path").required().names(plan::Names::Path)
                                     .doc("the file or folder tree to remove"),
                                 param("must_exist", ParamType::Bool)
                                     .doc("fail when path does not exist (default false: absent is fine)")},
                      .destructive = true,
                      .validate = validate_remove,
                      .describe = [](const Params& p) { return "rm -rf " + p.str("path"); },
                      .run = run_remove,
                      .rehearse = fs_rehearse::remove});
  registry.add(Action{.name = "fs.latest",
                      .summary = "the newest path matching a glob, into a var",
                      .params = {param("glob").required().names(plan::Names::Path)
                                     .doc("the glob pattern; the match modified last wins"),
                                 param("into").required().sets_var().doc("sets this var to the newest matching path"),
                                 param("kind").choices({"any", "file", "dir"})
                                     .doc("only count files or folders (default any)"),
                                 param("capture")
                                     .doc("a regex with a group, matched against the newest match's file name"),
                                 param("capture_into").sets_var().doc("sets this var to capture's first group")},
                      .read_only = true,
                      .validate = validate_latest,
                      .describe = [](const Params& p) { return fmt::format("newest of {} -> ${{{}}}", p.str("glob"), p.str("into")); },
                      .run = run_latest,
                      .rehearse = fs_rehearse::latest});
}

void register_wait_actions(Registry& registry) {
  registry.add(Action{.name = "wait.sleep",
                      .summary = "wait for a fixed time",
                      .params = {param("duration", ParamType::Duration).required()
                                     .doc("how long to wait, such as 30s or 2m")},
                      .describe = [](const Params& p) { return "sleep " + p.str("duration"); },
                      .run = run_sleep,
                      .rehearse = rehearse_as_is});
}

}  // namespace rollback::actions
