// The `from: coolify-backup` target source: the successful runs of one of Coolify's
// scheduled database backups as rollback targets. A target's file is the one Coolify wrote
// on this host when it is still there, else its S3 copy, downloaded through rclone into a
// private spool folder when the target is proved (before anything stops).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/coolify.hpp>
#include <rollback/actions/postgres.hpp>
#include <rollback/actions/rclone.hpp>
#include <rollback/plan/offsite.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/regular_file.hpp>
#include <rollback/util/runtime_dir.hpp>
#include <rollback/util/time.hpp>
#include <rollback/util/trust.hpp>

namespace rollback::actions::coolify {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFrom = "coolify-backup";

// Coolify's toIso8601String ("2025-01-27T18:00:00+00:00") or Laravel's default
// ("2025-01-27T18:00:00.000000Z"); an offset other than UTC is applied.
std::chrono::system_clock::time_point parse_created(const std::string& text) {
  if (text.size() < 19) return {};
  std::string norm = text.substr(0, 19);
  norm[10] = 'T';
  auto at = parse_iso_utc(norm + "Z").value_or(SystemTime{});
  auto zone = text.find_first_of("+-", 19);
  if (zone != std::string::npos && text.size() >= zone + 6) {
    int hours = std::atoi(text.substr(zone + 1, 2).c_str());
    int minutes = std::atoi(text.substr(zone + 4, 2).c_str());
    auto offset = std::chrono::hours(hours) + std::chrono::minutes(minutes);
    at += text[zone] == '+' ? -offset : offset;
  }
  return at;
}

void check_with(plan::ParamCheck& check) {
  if (auto remote = check.literal("remote"))
    if (auto bad = plan::check_remote(*remote); !bad.empty())
      check.error("remote", "remote: " + bad);
  if (auto spool = check.literal("spool"); spool && !spool->starts_with("/"))
    check.error("spool", fmt::format("spool: '{}' must be an absolute path", *spool));
  if (check.has("env") && check.node("env").IsMap())
    for (const auto& kv : check.node("env")) {
      auto name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!name.starts_with("RCLONE_"))
        check.error("env", fmt::format("env: '{}' is not an rclone variable (RCLONE_...)", name));
    }
}

plan::ActionSchema with_schema() {
  plan::ActionSchema s;
  s.name = std::string("from: ") + kFrom;
  s.params = with_api(
      {param("database")
           .required()
           .names(plan::Names::Identifier)
           .doc("the uuid of the database whose scheduled backup made the targets"),
       param("backup")
           .required()
           .names(plan::Names::Identifier)
           .doc("the uuid of the scheduled backup (its executions are the targets)"),
       param("remote").doc(
           "the rclone remote and bucket holding Coolify's S3 copy (\"s3:bucket\"): read when the "
           "file is not on this host"),
       param("env", ParamType::StringMap)
           .doc("RCLONE_* variables defining `remote` (credentials as ${secrets.NAME})"),
       param("spool")
           .names(plan::Names::Path)
           .doc("where S3 copies are downloaded, a folder only this user can write (default: the "
                "runtime dir)"),
       param("insecure", ParamType::Bool)
           .doc("skip TLS certificate and host name verification (default false)")});
  s.validate = check_with;
  return s;
}

const plan::ActionSchema& schema() {
  static const plan::ActionSchema s = with_schema();
  return s;
}

// A uuid used as a folder name or in the API's path: nothing that could leave either.
bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.';
         });
}

struct Source {
  Params params;
  std::string spool;  // the folder this backup's downloads go to
};

Result<Source> bind(const plan::TargetSpec& spec, const plan::Scope& scope) {
  auto params = plan::resolve_params(spec.with, scope, schema().params);
  if (!params) return fail("target.with: " + params.error().message);
  // Both go into the API's path, and `backup` names a spool folder too.
  for (const char* key : {"database", "backup"})
    if (!plain_name(params->str(key)))
      return fail(
          fmt::format("target.with.{}: expected a uuid (letters, digits, '-', '_', '.'), got "
                      "something that could leave the API path or the spool",
                      key));
  fs::path root = params->str("spool");
  if (root.empty()) root = runtime_dir() / kFrom;
  return Source{*params, (root / params->str("backup")).string()};
}

// The S3 key of a local file (Coolify uploads to <bucket><backup dir>/, so the key is the
// local path without its leading '/'); "" for a path that is not absolute and plain.
std::string s3_key(const std::string& local) {
  if (!local.starts_with("/")) return "";
  for (const auto& part : fs::path(local).relative_path())
    if (part == "." || part == ".." || part.empty()) return "";
  return local.substr(1);
}

fs::path spool_path(const Source& source, const Execution& e) {
  return fs::path(source.spool) / e.uuid / fs::path(e.filename).filename();
}

// The size of `path` when it is a regular file on this host: opened without following a
// symlink at its end, and never blocking on a FIFO; nullopt otherwise.
std::optional<unsigned long long> regular_size(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  OpenFile file(fd);
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<unsigned long long>(st.st_size);
}

// A folder of the spool: made 0700 when missing, refused unless it is a real folder of this
// user that nobody else can write (another user must not plant the file a restore reads).
Status private_folder(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(fmt::format("cannot make {}: {}", dir.string(), std::strerror(errno)));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return fail(fmt::format("cannot read {}: {}", dir.string(), std::strerror(errno)));
  if (!S_ISDIR(st.st_mode))
    return fail(fmt::format("{} is not a folder (a symlink?)", dir.string()));
  if (st.st_uid != ::geteuid())
    return fail(fmt::format("{} is not owned by this user", dir.string()));
  if ((st.st_mode & 022) != 0)
    return fail(
        fmt::format("{} is writable by others (mode {:04o})", dir.string(), st.st_mode & 07777));
  return ok();
}

bool private_folder_exists(const fs::path& dir) {
  struct stat st {};
  return ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
         (st.st_mode & 022) == 0;
}

Status make_spool(const Source& source, const fs::path& folder) {
  fs::path root = fs::path(source.spool).parent_path();
  if (root == runtime_dir() / kFrom)
    if (auto made = ensure_runtime_dir(); !made) return std::unexpected(made.error());
  for (const auto& dir : {root, fs::path(source.spool), folder})
    if (auto made = private_folder(dir); !made) return made;
  // The folders above the spool too: one another user could write would let them swap it.
  if (auto why = unsafe_state_dir_reason(root, ::geteuid()); !why.empty())
    return fail(fmt::format("refusing spool {}: {}", root.string(), why));
  return ok();
}

// The executions the last listing saw, by uuid: verify needs the file name and size a
// Target does not carry. Filled by list; a miss lists again.
std::mutex seen_mutex;
std::map<std::string, Execution> seen;

Result<std::vector<Execution>> fetch_executions(const Source& source) {
  ClientOptions o;
  o.url = source.params.str("url");
  o.token = source.params.str("token");
  o.insecure = source.params.flag("insecure", false);
  Client client(std::move(o));
  auto list = client.executions(source.params.str("database"), source.params.str("backup"));
  if (!list) return fail(redact(list.error().message), list.error().transient);
  std::lock_guard lock(seen_mutex);
  for (const auto& e : *list) seen[e.uuid] = e;
  return list;
}

// Downloads of executions Coolify no longer lists as good (its own retention removed them)
// leave the spool, so it holds at most what Coolify keeps. Only a spool that is ours.
void drop_gone_downloads(const Source& source, const std::vector<plan::Target>& listed) {
  if (!private_folder_exists(source.spool)) return;
  std::error_code ec;
  for (fs::directory_iterator it(source.spool, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    bool listed_here = std::any_of(listed.begin(), listed.end(),
                                   [&](const plan::Target& t) { return t.name == name; });
    std::error_code gone;
    if (!listed_here) fs::remove_all(it->path(), gone);
  }
}

Result<std::vector<plan::Target>> list(const plan::TargetSpec& spec, const plan::Scope& scope) {
  auto source = bind(spec, scope);
  if (!source) return std::unexpected(source.error());
  auto executions = fetch_executions(*source);
  if (!executions) return std::unexpected(executions.error());
  auto remote = source->params.str("remote");
  std::vector<plan::Target> out;
  for (const auto& e : *executions) {
    // Only a run that finished well left a file; failed() also clears its name. A uuid or a
    // file name that could leave the spool names no target either.
    if (e.status != "success" || e.filename.empty() || !plain_name(e.uuid) ||
        !plain_name(fs::path(e.filename).filename().string()))
      continue;
    plan::Target t;
    t.name = e.uuid;
    t.created = parse_created(e.created_at);
    if (e.size > 0) t.size_bytes = e.size;
    bool here = regular_size(e.filename).has_value();
    auto spooled = spool_path(*source, e).string();
    t.path = here ? e.filename : spooled;
    if (here)
      t.detail = fmt::format("{} (on this host)", e.filename);
    else if (remote.empty())
      t.detail = fmt::format("{} (not on this host, and no remote for the S3 copy)", e.filename);
    else
      t.detail = fmt::format("{} (from the S3 copy {}/{})", e.filename, remote, s3_key(e.filename));
    out.push_back(std::move(t));
  }
  // Newest first whatever order the API used; equal times keep the API's order.
  std::stable_sort(out.begin(), out.end(), [](const plan::Target& a, const plan::Target& b) {
    return a.created > b.created;
  });
  drop_gone_downloads(*source, out);
  return out;
}

Result<Execution> execution_of(const Source& source, const std::string& uuid) {
  {
    std::lock_guard lock(seen_mutex);
    if (auto it = seen.find(uuid); it != seen.end()) return it->second;
  }
  auto executions = fetch_executions(source);
  if (!executions) return std::unexpected(executions.error());
  for (const auto& e : *executions)
    if (e.uuid == uuid) return e;
  return fail(
      fmt::format("Coolify lists no execution {} of backup {}", uuid, source.params.str("backup")));
}

// The S3 copy into the spool: under a temporary name, renamed once whole, so a download cut
// short is never taken for the file.
Status download(proc::Runner& runner, const Source& source, const Execution& e,
                const fs::path& to) {
  auto remote = source.params.str("remote");
  if (remote.empty())
    return fail(fmt::format(
        "{} is not on this host, and target.with names no `remote` holding Coolify's S3 copy",
        e.filename));
  auto key = s3_key(e.filename);
  if (key.empty())
    return fail(fmt::format("Coolify's file name '{}' is not a plain absolute path", e.filename));
  if (auto made = make_spool(source, to.parent_path()); !made) return made;
  plan::OffsiteRemote r{.remote = remote, .env = source.params.map("env"), .keep = std::nullopt};
  fs::path partial = to.parent_path() / (".partial-" + to.filename().string());
  std::error_code ec;
  fs::remove(partial, ec);
  if (auto copied = rclone::copy_object(runner, r, key, partial); !copied) {
    fs::remove(partial, ec);
    return copied;
  }
  fs::rename(partial, to, ec);
  if (ec)
    return fail(
        fmt::format("cannot move the download into place at {}: {}", to.string(), ec.message()));
  return ok();
}

// The file read whole as what Coolify makes: a pg_dump custom archive (every block read by
// pg_restore) or pg_dumpall's gzipped SQL (decompressed to its end), through pg.restore's
// own proof, which pg.restore then finds already made for the unchanged file.
std::vector<std::string> prove_file(proc::Runner& runner, const std::string& path,
                                    const Execution& e) {
  auto size = regular_size(path);
  if (!size) return {fmt::format("{} is not a regular file", path)};
  if (e.size > 0 && *size != e.size)
    return {fmt::format("{} holds {} bytes, Coolify recorded {}", path, *size, e.size)};
  auto dump =
      pg::verify_dump(runner, Params(nlohmann::json{{"from", path}}), Millis(30 * 60 * 1000));
  if (!dump) return {dump.error().message};
  if (dump->format == pg::DumpFormat::Plain)
    return {fmt::format(
        "{} is plain SQL; Coolify writes a custom archive or gzipped pg_dumpall output", path)};
  return {};
}

std::vector<std::string> verify(proc::Runner& runner, const plan::TargetSpec& spec,
                                const plan::Target& target, const plan::Scope& scope) {
  auto source = bind(spec, scope);
  if (!source) return {source.error().message};
  auto e = execution_of(*source, target.name);
  if (!e) return {e.error().message};
  if (e->status != "success" || e->filename.empty())
    return {fmt::format("execution {} did not succeed ({})", e->uuid, e->status)};
  if (!plain_name(e->uuid) || !plain_name(fs::path(e->filename).filename().string()))
    return {fmt::format("execution {}: Coolify's file name '{}' is not a plain file name", e->uuid,
                        e->filename)};
  if (regular_size(e->filename)) return prove_file(runner, e->filename, *e);
  auto spooled = spool_path(*source, *e);
  // A download already in the spool is proved again as it is (while the spool is still private
  // to us); one that does not prove is ours to drop, so the next try reads the S3 copy afresh.
  if (regular_size(spooled.string())) {
    if (auto safe = make_spool(*source, spooled.parent_path()); !safe)
      return {safe.error().message};
  } else if (auto got = download(runner, *source, *e, spooled); !got) {
    return {got.error().message};
  }
  auto problems = prove_file(runner, spooled.string(), *e);
  if (!problems.empty()) {
    std::error_code ec;
    fs::remove(spooled, ec);
  }
  return problems;
}

}  // namespace

plan::TargetSource backup_target_source(proc::Runner& runner) {
  plan::TargetSource source;
  source.list = list;
  source.verify = [&runner](const plan::TargetSpec& spec, const plan::Target& target,
                            const plan::Scope& scope) {
    return verify(runner, spec, target, scope);
  };
  source.with = schema();
  return source;
}

}  // namespace rollback::actions::coolify

namespace rollback::actions {

// `from: coolify-backup`: Coolify's scheduled database backups.
void register_coolify_backup_targets(Registry& registry) {
  static proc::SystemRunner runner;
  registry.add_target_source("coolify-backup", coolify::backup_target_source(runner));
}

}  // namespace rollback::actions
