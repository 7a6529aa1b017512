// pg.ready and pg.query: libpq connections. pg.query runs inside a READ ONLY transaction
// (and with default_transaction_read_only on), one statement only, so a criterion or a
// dry-run can never change data through it.
#include <rollback/actions/adapters.hpp>
#include <rollback/actions/postgres.hpp>

#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <libpq-fe.h>

#include <rollback/proc/runner.hpp>
#include <rollback/util/comparison.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

#include "postgres_wait.hpp"

namespace rollback::actions::pg {
namespace {

using Clock = std::chrono::steady_clock;
using wait::Conn;
using wait::Ended;
using wait::PgResult;

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (auto& c : text) {
    if (c == '\n') c = ' ';
  }
  return redact(text);
}

// libpq's connect_timeout is in whole seconds (min 2 s is enforced by libpq itself).
std::string connect_timeout(const ActionContext& ctx) {
  auto ms = ctx.remaining(Millis(10'000)).count();
  return std::to_string(std::max<long long>(2, (ms + 999) / 1000));
}

// Connection failures are transient when the server may come up (refused, no route,
// timeout, starting up); auth failures and a missing database are not.
Outcome connection_failure(const Dsn& dsn, PGconn* conn) {
  std::string why = one_line(conn ? PQerrorMessage(conn) : "out of memory");
  bool permanent = why.find("authentication failed") != std::string::npos ||
                   why.find("does not exist") != std::string::npos ||
                   why.find("no password supplied") != std::string::npos ||
                   why.find("no pg_hba.conf entry") != std::string::npos;
  std::string kind = "cannot connect to";
  if (why.find("authentication failed") != std::string::npos) kind = "authentication failed for";
  else if (why.find("does not exist") != std::string::npos) kind = "database missing at";
  else if (why.find("refused") != std::string::npos) kind = "connection refused by";
  return Outcome::failure(fmt::format("{} PostgreSQL at {}: {}", kind, dsn.where, why), !permanent);
}

// Connects within the step's time (at most 10 s, as connect_timeout said before), or says
// why not.
std::optional<Outcome> connect_for_step(ActionContext& ctx, const Dsn& dsn,
                                        const std::string& conninfo, Conn& conn) {
  auto started = Clock::now();
  auto ended = wait::connect(conn, conninfo, wait::step_limit(ctx, Millis(10'000)));
  if (ended != Ended::Done)
    return Outcome::failure(fmt::format("cannot connect to PostgreSQL at {}: {}", dsn.where,
                                        wait::describe(ended, started)),
                            ended == Ended::TimedOut);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) return connection_failure(dsn, conn.get());
  return std::nullopt;
}

}  // namespace

Result<unsigned long long> database_size(ActionContext& ctx, const Dsn& dsn) {
  auto conninfo = dsn.conninfo({{"connect_timeout", connect_timeout(ctx)}});
  Conn conn(nullptr, &PQfinish);
  if (auto failed = connect_for_step(ctx, dsn, conninfo, conn))
    return fail(failed->message, failed->transient);
  PgResult res(nullptr, &PQclear);
  auto started = Clock::now();
  auto ended = wait::exec(conn.get(), "SELECT pg_database_size(current_database())",
                          wait::step_limit(ctx), res);
  if (ended != Ended::Done)
    return fail(
        fmt::format("cannot read the size of {}: {}", dsn.where, wait::describe(ended, started)),
        ended == Ended::TimedOut);
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1)
    return fail(fmt::format("cannot read the size of {}: {}", dsn.where, one_line(PQerrorMessage(conn.get()))));
  return std::stoull(PQgetvalue(res.get(), 0, 0));
}

namespace {

Outcome run_ready(ActionContext& ctx, const Params& params) {
  auto dsn = parse_dsn(params.str("dsn"));
  if (!dsn) return Outcome::failure(dsn.error().message);
  // `wait`: keep checking until then; without it, a single check. Either way each check
  // gets at most what is left, to the millisecond (ping_within), and so does the step.
  auto wait = params.duration("wait", Millis(0));
  auto started = Clock::now();
  auto until = started + (wait.count() ? wait : ctx.remaining(Millis(10'000)));
  if (ctx.deadline < until) until = ctx.deadline;
  auto conninfo = dsn->conninfo();
  for (int attempt = 1;; ++attempt) {
    auto left = std::max(Millis(1), std::chrono::duration_cast<Millis>(until - Clock::now()));
    Ping ping = ping_within(conninfo, left);
    if (proc::cancel_requested())
      return Outcome::failure(fmt::format("PostgreSQL at {}: interrupted", dsn->where));
    std::string state;
    bool transient = true;
    switch (ping) {
      case Ping::Ok: {
        auto out = Outcome::success(fmt::format("PostgreSQL at {} accepts connections", dsn->where));
        out.observations.push_back({"ready", "accepting"});
        out.data = {{"where", dsn->where}, {"attempts", attempt}};
        return out;
      }
      case Ping::Reject: state = "is up but rejecting connections (starting, stopping or in recovery)"; break;
      case Ping::NoResponse: state = "does not respond (not running or unreachable)"; break;
      case Ping::NoAttempt:
        state = "was not contacted: the DSN's parameters are invalid";
        transient = false;
        break;
    }
    if (!transient || !wait.count() || Clock::now() + Millis(250) >= until) {
      auto took = std::chrono::duration_cast<Millis>(Clock::now() - started);
      auto out = Outcome::failure(fmt::format("PostgreSQL at {} {} ({} check{} in {})", dsn->where, state, attempt,
                                              attempt == 1 ? "" : "s", format_duration(took)),
                                  transient);
      out.observations.push_back({"ready", ping == Ping::Reject ? "rejecting" : "no response", false});
      return out;
    }
    std::this_thread::sleep_for(Millis(250));
  }
}

Outcome check_query_params(const Params& params) {
  if (!params.has("sql")) return Outcome::failure("pg.query needs `sql`");
  return Outcome::success();
}

// Which way the value gets worse, from the value's `expect`: "<= 50" fails upwards.
Observation::Worse worse_for(const Params& params) {
  const auto& expect = params.raw("expect");
  const auto& text = expect.is_object() ? expect.value("value", nlohmann::json()) : expect;
  if (!text.is_string()) return Observation::Worse::Unknown;
  auto cmp = parse_comparison(text.get<std::string>());
  return cmp ? Observation::worse_for(*cmp) : Observation::Worse::Unknown;
}

// Applies one `expect` entry to what the query returned; empty string = it holds.
std::string check_expectation(const std::string& what, const std::string& observed,
                              const std::string& text) {
  auto cmp = parse_comparison(text);
  if (!cmp) return fmt::format("`expect` {}: {}", what, cmp.error().message);
  if (compare(observed, *cmp)) return {};
  return fmt::format("expected {} {} {}, got {}", what, cmp->op, cmp->operand,
                     observed.empty() ? "an empty value" : "'" + observed + "'");
}

Outcome run_query(ActionContext& ctx, const Params& params) {
  if (auto bad = check_query_params(params); !bad.ok) return bad;
  auto dsn = parse_dsn(params.str("dsn"));
  if (!dsn) return Outcome::failure(dsn.error().message);
  // Read-only for the whole session as well as for the transaction below, and bounded by
  // the step's remaining time.
  auto statement_ms = ctx.remaining(Millis(0)).count();
  std::string options = dsn->options.contains("options") ? dsn->options.at("options") + " " : "";
  options += "-c default_transaction_read_only=on";
  if (statement_ms > 0) options += fmt::format(" -c statement_timeout={}", statement_ms);
  auto conninfo = dsn->conninfo({{"connect_timeout", connect_timeout(ctx)}, {"options", options}});
  Conn conn(nullptr, &PQfinish);
  if (auto failed = connect_for_step(ctx, *dsn, conninfo, conn)) return *failed;

  // The server enforces statement_timeout only while it runs: a paused or wedged one is
  // bounded by the step's deadline here, and an interrupted run cancels the query.
  auto started = Clock::now();
  auto limit = wait::step_limit(ctx);
  auto unanswered = [&](Ended ended) {
    return Outcome::failure(
        fmt::format("query on {}: {}", dsn->where, wait::describe(ended, started)),
        ended == Ended::TimedOut);
  };
  PgResult begin(nullptr, &PQclear);
  if (auto ended = wait::exec(conn.get(), "BEGIN TRANSACTION READ ONLY", limit, begin);
      ended != Ended::Done)
    return unanswered(ended);
  if (PQresultStatus(begin.get()) != PGRES_COMMAND_OK) {
    return Outcome::failure(fmt::format("cannot start a read-only transaction on {}: {}", dsn->where,
                                        one_line(PQerrorMessage(conn.get()))));
  }
  // The extended protocol accepts exactly one statement: "COMMIT; DELETE ..." cannot escape
  // the read-only transaction.
  auto sql = params.str("sql");
  PgResult res(nullptr, &PQclear);
  if (auto ended = wait::exec(conn.get(), sql, limit, res); ended != Ended::Done)
    return unanswered(ended);
  auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return Outcome::failure(
        fmt::format("query on {} failed: {}", dsn->where,
                    one_line(res ? PQresultErrorMessage(res.get()) : PQerrorMessage(conn.get()))));
  }
  // Read-only: closing the connection ends the transaction as well as a ROLLBACK would.

  int rows = status == PGRES_TUPLES_OK ? PQntuples(res.get()) : 0;
  bool has_value = rows > 0 && PQnfields(res.get()) > 0;
  std::string value = has_value && !PQgetisnull(res.get(), 0, 0) ? PQgetvalue(res.get(), 0, 0) : "";

  Outcome out = Outcome::success();
  out.observations.push_back({"rows", std::to_string(rows)});
  if (has_value) out.observations.push_back({"value", redact(value), true, parse_number(value), worse_for(params)});
  out.data = {{"where", dsn->where}, {"rows", rows}};
  if (has_value) out.data["value"] = redact(value);

  std::vector<std::string> problems;
  const auto& expect = params.raw("expect");
  if (expect.is_object()) {
    for (const auto& [key, want] : expect.items()) {
      std::string text = want.is_string() ? want.get<std::string>() : want.dump();
      if (key == "rows") {
        if (auto p = check_expectation("rows", std::to_string(rows), text); !p.empty()) problems.push_back(p);
      } else if (key == "value") {
        if (!has_value) problems.push_back("expected a value, but the query returned no rows");
        else if (auto p = check_expectation("value", value, text); !p.empty()) problems.push_back(p);
      } else {
        problems.push_back(fmt::format("`expect` has unknown key '{}' (rows | value)", key));
      }
    }
  } else if (!expect.is_null()) {
    std::string text = expect.is_string() ? expect.get<std::string>() : expect.dump();
    if (!has_value) problems.push_back(fmt::format("expected value {}, but the query returned no rows", text));
    else if (auto p = check_expectation("value", value, text); !p.empty()) problems.push_back(p);
  }
  if (!problems.empty()) {
    std::string joined;
    for (const auto& p : problems) joined += (joined.empty() ? "" : "; ") + p;
    auto fail_out = Outcome::failure(redact(fmt::format("query on {}: {}", dsn->where, joined)));
    fail_out.observations = out.observations;
    for (auto& o : fail_out.observations) o.ok = false;
    fail_out.data = out.data;
    return fail_out;
  }
  if (params.has("into")) {
    if (!has_value) {
      return Outcome::failure(fmt::format("query on {} returned no rows: nothing to store into `{}`",
                                          dsn->where, params.str("into")));
    }
    if (ctx.set_var) ctx.set_var(params.str("into"), value);
  }
  out.message = has_value ? redact(fmt::format("{}: {} row{}, value {}", dsn->where, rows,
                                               rows == 1 ? "" : "s", value))
                          : fmt::format("{}: {} rows", dsn->where, rows);
  return out;
}

std::string describe_dsn_action(const char* verb, const Params& params) {
  return fmt::format("{} {}", verb, redact_dsn(params.str("dsn", "(PG* environment)")));
}

// A DSN that does not parse is a plan error found before anything runs, not a server
// that "does not respond" at the first step that tries it.
Outcome check_dsn(ActionContext&, const Params& params) {
  auto dsn = parse_dsn(params.str("dsn"));
  if (!dsn) return Outcome::failure(dsn.error().message);
  return Outcome::success("DSN " + dsn->display + " parses");
}

}  // namespace

Action ready_action() {
  Action a;
  a.name = "pg.ready";
  a.summary = "wait until a PostgreSQL server accepts connections";
  a.params = {param("dsn").names(plan::Names::Dsn)
                  .doc("libpq connection string or postgresql:// URI (absent: the PG* environment)"),
              param("wait", ParamType::Duration)
                  .doc("keep checking every 250ms for up to this long (default: one check)")};
  a.read_only = true;
  a.describe = [](const Params& p) { return describe_dsn_action("check PostgreSQL ready at", p); };
  a.preflight = check_dsn;
  a.run = run_ready;
  a.rehearse = rehearse_dsn;
  return a;
}

Action query_action() {
  Action a;
  a.name = "pg.query";
  a.summary = "run a read-only SQL query and check or keep its result";
  a.params = {param("dsn").names(plan::Names::Dsn)
                  .doc("libpq connection string or postgresql:// URI (absent: the PG* environment)"),
              param("sql").required().doc("one SQL statement, run in a read-only transaction"),
              param("expect", ParamType::Any)
                  .doc("the first value's comparison (>= 1; a bare value means ==), or a map {rows: ..., value: ...}"),
              param("into").sets_var().doc("sets this var to the first column of the first row")};
  a.read_only = true;
  a.validate = [](ParamCheck& check) {
    if (auto e = check.literal("expect")) {
      if (auto c = parse_comparison(*e); !c) check.error("expect", c.error().message);
    }
    auto expect = check.node("expect");
    if (expect.IsMap()) {
      for (const auto& kv : expect) {
        auto key = kv.first.as<std::string>();
        if (key != "rows" && key != "value") {
          check.error("expect", fmt::format("unknown key '{}' in `expect` (rows | value)", key));
        }
      }
    }
  };
  a.describe = [](const Params& p) {
    return fmt::format("query {}: {}{}", redact_dsn(p.str("dsn", "(PG* environment)")),
                       redact(p.str("sql")), p.has("into") ? " -> ${" + p.str("into") + "}" : "");
  };
  a.preflight = check_dsn;
  a.run = run_query;
  a.rehearse = rehearse_dsn;
  return a;
}

}  // namespace rollback::actions::pg

namespace rollback::actions {

void register_postgres_actions(Registry& registry) {
  registry.add(pg::ready_action());
  registry.add(pg::query_action());
  registry.add(pg::dump_action());
  registry.add(pg::restore_action());
  registry.add_copy_kind(pg::scratch_databases());
}

}  // namespace rollback::actions
