// How the pg actions rehearse (include/rollback/actions/postgres.hpp): a DSN becomes the
// moved port of a database the rehearsal started, else a scratch database created for the
// run on the same server (rb_rehearsal_<run id>, kind "database": dropped by its record).
#include <rollback/actions/postgres.hpp>

#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <memory>

#include <rollback/actions/rehearsal.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

#include "postgres_wait.hpp"

namespace rollback::actions::pg {
namespace {

constexpr const char* kDatabases = "database";  // its records; Rehearsal::map: production DSN -> DSN

// One SQL statement on the server of `dsn` (libpq, so no psql is needed), within `limit`.
Status exec_sql(const Dsn& dsn, const std::string& sql, wait::Limit limit) {
  auto conninfo = dsn.conninfo({{"connect_timeout", "10"}});
  auto started = wait::Clock::now();
  auto what = sql.substr(0, sql.find(' ', 7));
  wait::Conn conn(nullptr, &PQfinish);
  if (auto ended = wait::connect(conn, conninfo, limit); ended != wait::Ended::Done)
    return fail(fmt::format("cannot connect to {}: {}", dsn.where, wait::describe(ended, started)));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    return fail(fmt::format("cannot connect to {}: {}", dsn.where, conn ? trim(PQerrorMessage(conn.get())) : "out of memory"));
  wait::PgResult res(nullptr, &PQclear);
  // The simple protocol: CREATE DATABASE runs outside any transaction block.
  if (auto ended = wait::exec(conn.get(), sql, limit, res, /*one_statement=*/false);
      ended != wait::Ended::Done)
    return fail(fmt::format("{} on {}: {}", what, dsn.where, wait::describe(ended, started)));
  auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    return fail(fmt::format("{} on {}: {}", what, dsn.where, trim(PQerrorMessage(conn.get()))));
  return ok();
}

// Making a scratch database: bounded, and stopped by an interrupt. Dropping one is cleanup
// after that interrupt too, so it is not stopped by it.
wait::Limit making() {
  return {wait::Clock::now() + std::chrono::minutes(2)};
}
wait::Limit dropping() {
  return {wait::Clock::now() + std::chrono::minutes(1), /*survives_cancel=*/true};
}

std::string quoted_identifier(const std::string& name) { return "\"" + name + "\""; }

void drop_database(const nlohmann::json& r, CleanupContext& ctx) {
  auto dsn = parse_dsn(r.value("dsn", ""));
  if (!dsn) return;
  auto name = r.value("name", "");
  if (!name.starts_with("rb_rehearsal_")) return;  // only ever ours
  auto dropped = exec_sql(
      *dsn, "DROP DATABASE IF EXISTS " + quoted_identifier(name) + " WITH (FORCE)", dropping());
  if (ctx.log) ctx.log(dropped ? fmt::format("dropped scratch database {}", name)
                               : redact(fmt::format("could not drop scratch database {}: {}; drop it by hand", name,
                                                    dropped.error().message)));
}

}  // namespace

Result<std::string> rehearsal_dsn(Rehearsal& r, ActionContext& ctx, const std::string& production) {
  if (auto mapped = r.mapped(kDatabases, production)) return *mapped;
  auto dsn = parse_dsn(production);
  if (!dsn) return std::unexpected(dsn.error());
  auto get = [&](const char* key, const char* env, const char* fallback) {
    if (auto it = dsn->options.find(key); it != dsn->options.end()) return it->second;
    const char* value = std::getenv(env);
    return std::string(value && *value ? value : fallback);
  };
  std::string host = get("host", "PGHOST", "localhost");
  int port = 5432;
  try {
    port = std::stoi(get("port", "PGPORT", "5432"));
  } catch (...) {
  }
  bool local = host == "localhost" || host == "127.0.0.1" || host == "::1";
  if (auto moved = r.port(port); local && moved) {
    auto mapped = dsn->conninfo({{"host", "127.0.0.1"}, {"port", std::to_string(*moved)}});
    r.map(kDatabases, production, mapped);
    return mapped;
  }
  std::string name = rehearsal_name("rb_rehearsal_" + r.run_id(), '_');
  for (auto& c : name)
    if (c == '-' || c == '.') c = '_';
  name = name.substr(0, 63);
  auto mapped = dsn->conninfo({{"dbname", name}});
  if (!r.for_real) return mapped;
  r.record({{"kind", kDatabases}, {"name", name}, {"dsn", production}});
  RB_TRY(exec_sql(*dsn, "CREATE DATABASE " + quoted_identifier(name), making()));
  RB_TRY(exec_sql(*dsn,
                  fmt::format("COMMENT ON DATABASE {} IS '{}={} (scratch database of a rehearsal)'",
                              quoted_identifier(name), kRehearsalLabel, r.run_id()),
                  making()));
  if (ctx.log) ctx.log(fmt::format("created scratch database {} on {}", name, dsn->where));
  r.map(kDatabases, production, mapped);
  return mapped;
}

CopyKind scratch_databases() {
  return CopyKind{.name = kDatabases,
                  .remove = drop_database,
                  .sweep = {},  // a server holds no label to find them by: the records name them
                  .summarize = [](const Rehearsal& r, nlohmann::json& summary) {
                    nlohmann::json names = nlohmann::json::array();
                    for (const auto& made : r.made_so_far())
                      if (made.value("kind", "") == kDatabases) names.push_back(made.value("name", ""));
                    summary["databases"] = names;
                  }};
}

Result<Rehearsed> rehearse_dsn(Rehearsal& r, ActionContext& ctx, const Params& p) {
  auto mapped = rehearsal_dsn(r, ctx, p.str("dsn"));
  if (!mapped) return std::unexpected(mapped.error());
  return Rehearsed::run(with_param(p, "dsn", *mapped), "against the rehearsal's database");
}

}  // namespace rollback::actions::pg
