// PostgreSQL adapter helpers (pg.ready, pg.query, pg.dump, pg.restore), exposed for tests.
// Connections go through libpq; dump files through Debian's pg_dump / pg_restore / psql via
// proc::Runner. A DSN's password never reaches argv, a log line or a message: children get
// it through PGPASSWORD, and it is registered with rollback::register_secret.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <rollback/actions/action.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions::pg {

// A parsed DSN (URI `postgresql://...` or `key=value ...`; empty = libpq's PG* defaults).
struct Dsn {
  std::map<std::string, std::string> options;  // libpq keywords, password excluded
  std::string password;                        // from the DSN; empty when absent
  std::string display;                         // the DSN as written, password as ***
  std::string where;                           // "host:port/dbname" for error messages

  // key=value conninfo for libpq, with the password and `extra` keywords added.
  std::string conninfo(const std::map<std::string, std::string>& extra = {}) const;
  // key=value conninfo without the password, safe for a child's argv (--dbname=...).
  std::string conninfo_for_argv() const;
  // Env for a child: PGPASSWORD when the DSN carries a password.
  std::map<std::string, std::string> child_env() const;
};

// Parses and registers the password as a secret. Errors never contain the password.
Result<Dsn> parse_dsn(std::string_view text);

// "postgresql://app:***@db:5432/app": the password of a URI or key=value DSN as ***.
std::string redact_dsn(std::string_view text);

// The file a restore reads: what preflight and run both check before anything is dropped.
// GzipSql: a gzipped SQL script, pg_dumpall's as Coolify's "dump all" backups keep it.
enum class DumpFormat { Plain, Custom, GzipSql };
constexpr std::string_view format_name(DumpFormat f) {
  return f == DumpFormat::Custom ? "custom" : f == DumpFormat::GzipSql ? "gzip" : "plain";
}
struct VerifiedDump {
  DumpFormat format = DumpFormat::Plain;
  std::string checksum;  // sha256 hex of the file
  unsigned long long size = 0;
  unsigned long long script_bytes = 0;  // GzipSql: its SQL once decompressed
};
Result<VerifiedDump> verify_dump(proc::Runner& runner, const Params& params, Millis timeout);

// PQping's verdict, reached within `budget` of wall time to the millisecond. libpq's own
// connect_timeout counts whole seconds with a 2 s floor, so pg.ready polls the connection
// itself (PQconnectStart/PQconnectPoll) to keep a `wait:` a bound.
enum class Ping { Ok, Reject, NoResponse, NoAttempt };
Ping ping_within(const std::string& conninfo, Millis budget);

// pg_database_size() of the DSN's database: what a dump is checked to have room for (an
// upper bound: a dump holds no index data, and custom archives are compressed).
Result<unsigned long long> database_size(ActionContext& ctx, const Dsn& dsn);

// How the pg actions rehearse (postgres_rehearse.cpp; actions/rehearsal.hpp): a DSN to the
// rehearsal's database, the moved port of a database it started, else a scratch database on
// the same server, created on first use.
Result<std::string> rehearsal_dsn(Rehearsal& r, ActionContext& ctx, const std::string& production_dsn);
// Kind "database": the scratch databases, dropped by their records (registered by
// register_postgres_actions); adds "databases" (their names) to the summary.
CopyKind scratch_databases();
// pg.ready, pg.query, pg.restore: against the rehearsal's database.
Result<Rehearsed> rehearse_dsn(Rehearsal& r, ActionContext& ctx, const Params& p);

// The actions, assembled by register_postgres_actions (src/actions/postgres.cpp).
Action ready_action();
Action query_action();
Action dump_action();
Action restore_action();

}  // namespace rollback::actions::pg
