// pg.restore of a gzipped pg_dumpall script over a live server (postgres_cluster.hpp).
#include <rollback/actions/postgres_cluster.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <rollback/util/disk.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/regular_file.hpp>
#include <rollback/util/runtime_dir.hpp>

namespace rollback::actions::pg {
namespace fs = std::filesystem;

namespace {

// The name a statement starts with after `prefix`, as pg_dumpall wrote it: an identifier,
// or a quoted one ("My DB", with "" inside), up to the first space or ';'.
std::string name_after(std::string_view text, std::string_view prefix) {
  std::string_view rest = text.substr(prefix.size());
  if (rest.starts_with('"')) {
    for (size_t i = 1; i < rest.size(); ++i)
      if (rest[i] == '"') {
        if (i + 1 < rest.size() && rest[i + 1] == '"') {
          ++i;
          continue;
        }
        return std::string(rest.substr(0, i + 1));
      }
    return "";
  }
  auto end = rest.find_first_of(" ;");
  return std::string(rest.substr(0, end));
}

}  // namespace

Status ClusterScript::line(std::string_view text) {
  constexpr std::string_view kCreateRole = "CREATE ROLE ", kCreateDatabase = "CREATE DATABASE ";
  if (text.starts_with(kCreateRole) && text.ends_with(";")) {
    // pg_dumpall's own form for every role, the superuser that runs the restore included.
    auto role = name_after(text, kCreateRole);
    if (!role.empty())
      return out_(fmt::format("DO $rollback$ BEGIN CREATE ROLE {}; EXCEPTION WHEN duplicate_object THEN NULL; "
                              "END $rollback$;\n",
                              role));
  }
  if (text.starts_with(kCreateDatabase)) {
    auto database = name_after(text, kCreateDatabase);
    if (!database.empty()) {
      ++databases_;
      RB_TRY(out_(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE);\n", database)));
    }
  }
  if (text == "\\connect postgres") {
    // Restored into, not created: emptied first, from a database the script does not replace.
    ++databases_;
    RB_TRY(out_("\\connect template1\nDROP DATABASE IF EXISTS postgres WITH (FORCE);\n"
                "CREATE DATABASE postgres WITH TEMPLATE = template0;\n"));
  }
  RB_TRY(out_(text));
  return out_("\n");
}

Status ClusterScript::feed(std::string_view data) {
  size_t at = 0;
  for (size_t nl; (nl = data.find('\n', at)) != std::string_view::npos; at = nl + 1) {
    if (pending_.empty()) {
      RB_TRY(line(data.substr(at, nl - at)));
    } else {
      pending_.append(data.substr(at, nl - at));
      RB_TRY(line(pending_));
      pending_.clear();
    }
  }
  pending_.append(data.substr(at));
  return ok();
}

Status ClusterScript::finish() {
  if (pending_.empty()) return ok();
  auto last = std::move(pending_);
  pending_.clear();
  return line(last);
}

bool is_gzip_file(const fs::path& from) {
  auto file = open_regular(from);
  if (!file) return false;
  unsigned char magic[2] = {0, 0};
  return ::pread(file->fd(), magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

namespace {

// The rewritten script, in a private folder of the runtime dir (a run killed before it
// removes the folder leaves it to the next run's sweep).
Result<fs::path> write_script(const fs::path& from, const fs::path& dir, int& databases) {
  fs::path script = dir / "restore.sql";
  int fd = ::open(script.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(fmt::format("cannot create {}: {}", script.string(), std::strerror(errno)));
  ClusterScript rewrite([&](std::string_view data) { return write_all(fd, data, script); });
  auto read = read_gzip_sql(from, [&](std::string_view data) { return rewrite.feed(data); });
  if (read) read = rewrite.finish();
  ::close(fd);
  if (!read) return std::unexpected(read.error());
  databases = rewrite.databases_replaced();
  return script;
}

}  // namespace

Outcome restore_cluster(ActionContext& ctx, const Dsn& dsn, const fs::path& from, unsigned long long script_bytes) {
  auto dir = make_runtime_subdir("pg-cluster");
  if (!dir) return Outcome::failure("restore refused, nothing was changed: " + dir.error().message);
  struct Remove {
    fs::path dir;
    ~Remove() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove{*dir};
  // The runtime dir is often a tmpfs (/run): filling it would hurt the whole host.
  if (auto room = check_room(*dir, script_bytes, "the rewritten pg_dumpall script"); !room)
    return Outcome::failure("restore refused, nothing was changed: " + room.error().message +
                            " (ROLLBACK_RUNTIME_DIR can name a folder on a larger disk)");
  int databases = 0;
  auto script = write_script(from, *dir, databases);
  if (!script) return Outcome::failure("restore refused, nothing was changed: " + script.error().message);
  proc::Command cmd;
  cmd.argv = {"psql", "--no-psqlrc", "--no-password", "--quiet", "-v", "ON_ERROR_STOP=1", "--file=" + script->string()};
  if (auto target = dsn.conninfo_for_argv(); !target.empty()) cmd.argv.push_back("--dbname=" + target);
  cmd.env = dsn.child_env();
  cmd.timeout = ctx.remaining(Millis(0));
  cmd.on_line = [&](proc::Stream, std::string_view line) {
    if (ctx.log) ctx.log(line);
  };
  auto done = ctx.runner.run(cmd);
  if (!done || !done->succeeded()) {
    std::string why = !done ? done.error().message : fmt::format("psql {}: {}", done->outcome(), done->err);
    return Outcome::failure(redact(fmt::format(
        "restore of {} (pg_dumpall) into {} failed: {}; it is not one transaction: the databases before "
        "the failing statement were replaced, the rest were not",
        from.string(), dsn.where, why)));
  }
  auto out = Outcome::success();
  out.say("pg.cluster_restored", "restored {} (pg_dumpall) into {}: {} database(s) replaced, roles created or updated",
          {from.string(), dsn.where, std::to_string(databases)});
  return out;
}

}  // namespace rollback::actions::pg
