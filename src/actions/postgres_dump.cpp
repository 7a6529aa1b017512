// pg.dump and pg.restore through Debian's pg_dump / pg_restore / psql (proc::Runner, argv
// only; the password travels in PGPASSWORD). A restore first proves its file is whole and
// is the file that was written (checksum, archive readable end to end, plain dump's
// completion marker): in preflight AND again in run, before anything is dropped.
#include <rollback/actions/postgres.hpp>
#include <rollback/actions/rehearsal.hpp>
#include <rollback/actions/unfinished_file.hpp>

#include <rollback/actions/postgres_cluster.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <fmt/format.h>

#include <rollback/util/archive.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/regular_file.hpp>

namespace rollback::actions::pg {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPlainHeader = "-- PostgreSQL database dump";
constexpr std::string_view kPlainTrailer = "-- PostgreSQL database dump complete";

std::string first_line(std::string text) {
  auto nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  return redact(text);
}

// The last lines of a failed child's stderr, redacted: what the report should show.
std::string child_error(const proc::Completed& done) {
  std::string err = done.err.empty() ? done.out : done.err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  if (err.size() > 600) err = "..." + err.substr(err.size() - 600);
  return redact(err);
}

std::string read_range(const fs::path& path, std::streamoff offset, size_t size) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(offset);
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

// `checksum` param ("abc..." or "sha256:abc..."), else `<from>.sha256` when present.
Result<std::string> expected_checksum(const Params& params, const fs::path& from) {
  std::string want = params.str("checksum");
  if (want.empty()) {
    fs::path side = from;
    side += ".sha256";
    if (!fs::exists(side)) return std::string();
    auto text = read_file(side);
    if (!text) return fail(text.error().message);
    want = text->substr(0, text->find_first_of(" \t\n"));
    if (want.empty()) return fail(fmt::format("checksum file {} is empty", side.string()));
  }
  if (want.starts_with("sha256:")) want = want.substr(7);
  return want;
}

Result<proc::Completed> run_checked(proc::Runner& runner, proc::Command cmd, const char* what) {
  auto done = runner.run(cmd);
  if (!done) return fail(fmt::format("cannot run {}: {}", cmd.argv[0], done.error().message));
  if (!done->succeeded()) {
    return fail(fmt::format("{} ({}): {}", what, done->outcome(), child_error(*done)),
                done->timed_out);
  }
  return done;
}



}  // namespace

// A gzipped SQL script (pg_dumpall's, as Coolify keeps it): decompressed to its end, and
// its first and last lines those of a dump pg_dump or pg_dumpall finished.
Status read_gzip_sql(const fs::path& from, const Sink& also) {
  auto file = open_regular(from);
  if (!file) return std::unexpected(file.error());
  auto gunzip = Decompressor::make(Compression::Gzip);
  if (!gunzip) return std::unexpected(gunzip.error());
  std::string head, tail;
  Sink keep = [&](std::string_view data) {
    if (head.size() < 4096) head.append(data.substr(0, 4096 - head.size()));
    tail.append(data.size() > 4096 ? data.substr(data.size() - 4096) : data);
    if (tail.size() > 8192) tail.erase(0, tail.size() - 4096);
    return also ? also(data) : ok();
  };
  std::string buffer(1 << 16, '\0');
  for (;;) {
    auto got = ::read(file->fd(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      return fail(fmt::format("cannot read {}: {}", from.string(), std::strerror(errno)));
    if (got == 0) break;
    if (auto fed = (*gunzip)->feed(std::string_view(buffer.data(), static_cast<size_t>(got)), keep);
        !fed)
      return fail(fmt::format("{} does not decompress: {}", from.string(), fed.error().message));
  }
  if (auto end = (*gunzip)->finish(); !end)
    return fail(
        fmt::format("{} does not decompress whole: {}", from.string(), end.error().message));
  if (head.find("-- PostgreSQL database") == std::string::npos)
    return fail(fmt::format(
        "{} does not hold a pg_dump or pg_dumpall SQL script (no \"-- PostgreSQL database\" "
        "header once decompressed)",
        from.string()));
  if (tail.find("dump complete") == std::string::npos)
    return fail(fmt::format("{} is truncated: its SQL does not end with \"... dump complete\"",
                            from.string()));
  return ok();
}

// Reads the dump end to end as its format requires (a custom archive through pg_restore, a
// plain one's header and trailer) and sets dump.format.
static Status read_through(proc::Runner& runner, const fs::path& from, std::string format, VerifiedDump& dump,
                           Millis timeout) {
  auto magic = read_range(from, 0, 5);
  bool custom_magic = magic == "PGDMP";
  if (format == "auto")
    format = custom_magic ? "custom" : magic.starts_with("\x1f\x8b") ? "gzip" : "plain";
  if (format == "gzip") {
    dump.format = DumpFormat::GzipSql;
    return read_gzip_sql(from, [&](std::string_view sql) {
      dump.script_bytes += sql.size();
      return ok();
    });
  }
  if (format == "custom") {
    dump.format = DumpFormat::Custom;
    if (!custom_magic) return fail(fmt::format("{} is not a pg_dump custom archive (no PGDMP header)", from.string()));
    // --list reads the table of contents; writing the whole script to /dev/null reads every
    // data block, which is what catches an archive truncated after its TOC.
    for (auto argv : {std::vector<std::string>{"pg_restore", "--list", "--", from.string()},
                      std::vector<std::string>{"pg_restore", "--file=/dev/null", "--", from.string()}}) {
      proc::Command cmd;
      cmd.argv = argv;
      cmd.timeout = timeout;
      auto done = run_checked(runner, cmd, "pg_restore cannot read the archive");
      if (!done) return fail(fmt::format("{}: {}", from.string(), done.error().message));
    }
  } else if (format == "plain") {
    dump.format = DumpFormat::Plain;
    auto head = read_range(from, 0, 4096);
    // The header is a line of its own near the top (the trailer line contains it too).
    if (head.find("\n" + std::string(kPlainHeader) + "\n") == std::string::npos) {
      return fail(fmt::format("{} does not look like a pg_dump SQL file (no \"{}\" header)", from.string(), kPlainHeader));
    }
    auto tail_size = std::min<unsigned long long>(dump.size, 4096);
    auto tail = read_range(from, static_cast<std::streamoff>(dump.size - tail_size), tail_size);
    if (tail.find(kPlainTrailer) == std::string::npos) {
      return fail(fmt::format("{} is truncated: it does not end with \"{}\"", from.string(), kPlainTrailer));
    }
  } else {
    return fail(fmt::format("`format` must be auto, plain, custom or gzip, not '{}'", format));
  }
  return ok();
}

Result<VerifiedDump> verify_dump(proc::Runner& runner, const Params& params, Millis timeout) {
  fs::path from = params.str("from");
  if (from.empty()) return fail("pg.restore needs `from` (the dump file)");
  std::error_code ec;
  if (!fs::is_regular_file(from, ec)) {
    return fail(fmt::format("dump file {} {}", from.string(), fs::exists(from, ec) ? "is not a regular file" : "does not exist"));
  }
  VerifiedDump dump;
  dump.size = fs::file_size(from, ec);
  if (dump.size == 0) return fail(fmt::format("dump file {} is empty", from.string()));

  auto want = expected_checksum(params, from);
  if (!want) return std::unexpected(want.error());
  // Preflight read the whole file already (checksum, every archive block): unchanged since,
  // what it found stands.
  auto checksum_differs = [&] {
    return fail(fmt::format("dump file {} fails its checksum: expected sha256 {}, file has {}", from.string(),
                            *want, dump.checksum));
  };
  // Preflight read the whole file already (checksum, every archive block): unchanged since,
  // what it found stands.
  auto format = params.str("format", "auto");
  auto proof_name = "pg.restore format=" + format;
  if (auto facts = proven_unchanged(from, proof_name)) {
    // "<sha256> <script bytes> <format>"
    dump.checksum = facts->substr(0, facts->find(' '));
    dump.script_bytes = std::strtoull(facts->c_str() + facts->find(' ') + 1, nullptr, 10);
    dump.format = facts->ends_with(" custom") ? DumpFormat::Custom
                  : facts->ends_with(" gzip") ? DumpFormat::GzipSql
                                              : DumpFormat::Plain;
    if (!want->empty() && *want != dump.checksum) return checksum_differs();
    return dump;
  }
  auto proof = start_proof(from);
  auto have = sha256_file(from);
  if (!have) return std::unexpected(have.error());
  dump.checksum = *have;
  if (!want->empty() && *want != dump.checksum) return checksum_differs();
  if (auto read = read_through(runner, from, format, dump, timeout); !read) return std::unexpected(read.error());
  remember_proof(proof, proof_name,
                 fmt::format("{} {} {}", dump.checksum, dump.script_bytes, format_name(dump.format)));
  return dump;
}

namespace {

Outcome run_dump(ActionContext& ctx, const Params& params) {
  auto dsn = parse_dsn(params.str("dsn"));
  if (!dsn) return Outcome::failure(dsn.error().message);
  fs::path to = params.str("to");
  if (to.empty()) return Outcome::failure("pg.dump needs `to` (the dump file)");
  auto format = params.str("format", "custom");
  if (format != "plain" && format != "custom") {
    return Outcome::failure(fmt::format("`format` must be plain or custom, not '{}'", format));
  }
  std::error_code ec;
  if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
  if (params.flag("check_space", true)) {
    auto size = database_size(ctx, *dsn);
    if (!size) return Outcome::failure(size.error().message, size.error().transient);
    auto dir = to.has_parent_path() ? to.parent_path() : fs::path(".");
    if (auto room = check_room(dir, *size, fmt::format("a dump of {} ({} on the server)", dsn->where, human_size(*size)));
        !room)
      return Outcome::failure(room.error().message);
  }
  UnfinishedFile file(ctx, to);
  const fs::path& partial = file.path();

  proc::Command cmd;
  cmd.argv = {"pg_dump", "--no-password", "--format=" + format, "--file=" + partial.string()};
  // A plain dump drops what it recreates, so psql can restore it over the live database in
  // one transaction (a custom archive gets --clean at restore time instead).
  if (format == "plain") cmd.argv.insert(cmd.argv.end(), {"--clean", "--if-exists", "--no-owner"});
  // An empty DSN means libpq's PG* environment: pass no --dbname at all then.
  if (auto target = dsn->conninfo_for_argv(); !target.empty()) cmd.argv.push_back("--dbname=" + target);
  cmd.env = dsn->child_env();
  cmd.timeout = ctx.remaining(Millis(0));
  cmd.on_line = [&](proc::Stream, std::string_view line) {
    if (ctx.log) ctx.log(line);
  };
  auto done = run_checked(ctx.runner, cmd, "pg_dump failed");
  if (!done) {
    return Outcome::failure(fmt::format("dump of {} to {} failed: {}", dsn->where, to.string(),
                                        done.error().message), done.error().transient);
  }
  auto sum = sha256_file(partial);
  if (!sum) return Outcome::failure(sum.error().message);
  auto size = fs::file_size(partial, ec);
  if (auto committed = file.commit(); !committed)
    return Outcome::failure("cannot rename the dump into place: " + committed.error().message);
  fs::path side = to;
  side += ".sha256";
  if (auto w = write_file_atomic(side, fmt::format("{}  {}\n", *sum, to.filename().string())); !w) {
    return Outcome::failure(w.error().message);
  }
  auto out = Outcome::success();
  out.data = {{"path", to.string()}, {"size", size}, {"sha256", *sum}, {"format", format}};
  out.say("pg.dumped", "dumped {} to {} ({} bytes, {})", {dsn->where, to.string(), std::to_string(size), format});
  out.observations = {{"size", std::to_string(size)}, {"checksum", "sha256:" + *sum}};
  return out;
}

// The server is not contacted here: a plan may start the database in a step after
// preflight. The programs and the file are what must already be there.
Outcome missing_programs(std::initializer_list<const char*> programs) {
  for (const char* program : programs) {
    if (!proc::program_available(program)) {
      return Outcome::failure(fmt::format("{} is not installed (Debian: apt-get install postgresql-client)", program));
    }
  }
  return Outcome::success();
}

Outcome preflight_dump(ActionContext&, const Params& params) {
  auto dsn = parse_dsn(params.str("dsn"));
  if (!dsn) return Outcome::failure(dsn.error().message);
  return missing_programs({"pg_dump"});
}

Outcome preflight_restore(ActionContext& ctx, const Params& params) {
  auto dsn = parse_dsn(params.str("dsn"));
  if (!dsn) return Outcome::failure(dsn.error().message);
  if (auto tools = missing_programs({"pg_restore", "psql"}); !tools.ok) return tools;
  auto dump = verify_dump(ctx.runner, params, ctx.remaining(Millis(0)));
  if (!dump) return Outcome::failure("restore refused: " + dump.error().message);
  auto out = Outcome::success(fmt::format("{} verifies ({} bytes, sha256 {}){}", params.str("from"), dump->size,
                                          dump->checksum,
                                          dump->format == DumpFormat::GzipSql
                                              ? "; a pg_dumpall script: it replaces every database it holds"
                                              : ""));
  out.observations = {{"size", std::to_string(dump->size)}, {"checksum", "sha256:" + dump->checksum}};
  return out;
}

Outcome run_restore(ActionContext& ctx, const Params& params) {
  auto dsn = parse_dsn(params.str("dsn"));
  if (!dsn) return Outcome::failure(dsn.error().message);
  // Verified again here: the file may have changed since preflight, and `resume` has none.
  auto dump = verify_dump(ctx.runner, params, ctx.remaining(Millis(0)));
  if (!dump) return Outcome::failure("restore refused, nothing was changed: " + dump.error().message);
  auto from = params.str("from");
  if (dump->format == DumpFormat::GzipSql) return restore_cluster(ctx, *dsn, from, dump->script_bytes);
  proc::Command cmd;
  if (dump->format == DumpFormat::Plain) {
    cmd.argv = {"psql", "--no-psqlrc", "--no-password", "--quiet", "-v", "ON_ERROR_STOP=1",
                "--single-transaction", "--file=" + from};
  } else {
    cmd.argv = {"pg_restore", "--no-password", "--clean", "--if-exists", "--single-transaction",
                "--no-owner"};
  }
  // Without a DSN psql follows PG* env by itself; pg_restore without --dbname would only
  // print a script, so it gets libpq's default database spelled out (PGDATABASE, else the
  // user name).
  auto target = dsn->conninfo_for_argv();
  if (target.empty() && dump->format == DumpFormat::Custom) {
    Dsn only_db;
    only_db.options["dbname"] = dsn->where.substr(dsn->where.rfind('/') + 1);
    target = only_db.conninfo();
  }
  if (!target.empty()) cmd.argv.push_back("--dbname=" + target);
  if (dump->format == DumpFormat::Custom) cmd.argv.insert(cmd.argv.end(), {"--", from});
  cmd.env = dsn->child_env();
  cmd.timeout = ctx.remaining(Millis(0));
  cmd.on_line = [&](proc::Stream, std::string_view line) {
    if (ctx.log) ctx.log(line);
  };
  auto done = run_checked(ctx.runner, cmd, dump->format == DumpFormat::Plain ? "psql failed" : "pg_restore failed");
  if (!done) {
    // --single-transaction: a failed restore rolled back, the database is as it was.
    auto out = Outcome::failure(fmt::format("restore of {} into {} failed and was rolled back: {}",
                                            from, dsn->where, done.error().message));
    out.log_excerpt = first_line(done.error().message);
    return out;
  }
  auto out = Outcome::success();
  out.data = {{"from", from}, {"sha256", dump->checksum},
              {"format", dump->format == DumpFormat::Plain ? "plain" : "custom"}};
  out.say("pg.restored", "restored {} into {} ({} bytes)", {from, dsn->where, std::to_string(dump->size)});
  out.observations = {{"size", std::to_string(dump->size)}, {"checksum", "sha256:" + dump->checksum}};
  return out;
}

}  // namespace

Action dump_action() {
  Action a;
  a.name = "pg.dump";
  a.summary = "dump a PostgreSQL database to a file (with a .sha256 beside it)";
  a.params = {param("dsn").names(plan::Names::Dsn)
                  .doc("libpq connection string or postgresql:// URI (absent: the PG* environment)"),
              param("to").required().names(plan::Names::Path)
                  .doc("the dump file to write (atomically), with <to>.sha256 beside it"),
              param("format").choices({"plain", "custom"})
                  .doc("pg_dump's format: custom archive or plain SQL with --clean (default custom)"),
              param("check_space", ParamType::Bool)
                  .doc("refuse unless to's folder has the database size + 10% + 16 MB free (default true)")};
  a.destructive = false;
  a.rerun_safe = true;  // temp file + rename: a rerun overwrites the whole file
  a.describe = [](const Params& p) {
    return fmt::format("pg_dump {} -> {} ({})", redact_dsn(p.str("dsn", "(PG* environment)")),
                       p.str("to"), p.str("format", "custom"));
  };
  a.preflight = preflight_dump;
  a.run = run_dump;
  a.cleanup = remove_held_files;
  a.rehearse = not_rehearsed("not rehearsed: a dump is a backup");
  return a;
}

Action restore_action() {
  Action a;
  a.name = "pg.restore";
  a.summary = "restore a pg_dump file (plain or custom) in one transaction, or a gzipped pg_dumpall script, after "
              "verifying it";
  a.params = {param("dsn").names(plan::Names::Dsn)
                  .doc("libpq connection string or postgresql:// URI (absent: the PG* environment)"),
              param("from").required().names(plan::Names::Path)
                  .doc("the pg_dump file to restore; it is read through and verified first"),
              param("format").choices({"auto", "plain", "custom", "gzip"})
                  .doc("the dump's format (default auto: custom when it starts with PGDMP, gzip (a pg_dumpall "
                       "script, as Coolify keeps it) when gzipped)"),
              param("checksum").doc("the expected sha256, hex or sha256:hex (default: <from>.sha256 when present)")};
  a.destructive = true;
  // --clean / single transaction, or a pg_dumpall script that drops each database it
  // recreates: running it again gives the same state.
  a.rerun_safe = true;
  a.describe = [](const Params& p) {
    return fmt::format("restore {} into {} (drops and recreates the dumped objects; a pg_dumpall script: the "
                       "databases it holds)",
                       p.str("from"), redact_dsn(p.str("dsn", "(PG* environment)")));
  };
  a.preflight = preflight_restore;
  a.run = run_restore;
  a.rehearse = [](Rehearsal& r, ActionContext& ctx, const Params& p) -> Result<Rehearsed> {
    // A pg_dumpall script replaces every database of the server it runs against: never into
    // a scratch database beside production's. The rehearsal's preflight has proved the file.
    if (is_gzip_file(p.str("from")))
      return Rehearsed::skip("not rehearsed: a pg_dumpall script replaces every database of its server; the file "
                             "was proved whole");
    return rehearse_dsn(r, ctx, p);
  };
  return a;
}

}  // namespace rollback::actions::pg
