// libpq calls that end (private to src/actions/postgres*.cpp): a connection or a query waits
// at most until its deadline, and ends within about 100 ms of the run being interrupted
// (SIGINT, SIGTERM). libpq's own bounds are not enough: connect_timeout counts whole seconds,
// and statement_timeout is enforced by the server, so a server that is paused (docker pause)
// or wedged never enforces it and a blocking PQexec waits for ever.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <libpq-fe.h>

#include <rollback/actions/action.hpp>

namespace rollback::actions::pg::wait {

using Clock = std::chrono::steady_clock;
using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

struct Limit {
  Clock::time_point deadline = Clock::time_point::max();
  // Cleanup after a Ctrl-C (dropping a rehearsal's scratch database) must not be stopped by
  // that Ctrl-C; it gets a deadline instead.
  bool survives_cancel = false;
};

// The step's deadline, or `cap` from now when that is sooner (cap 0: no cap).
Limit step_limit(const ActionContext& ctx, Millis cap = Millis(0));

enum class Ended { Done, TimedOut, Interrupted };

// Connects with PQconnectStart/PQconnectPoll. Done: `conn` holds the attempt, connected when
// PQstatus is CONNECTION_OK, else PQerrorMessage says why (null: out of memory). (pg.ready
// polls its own connection: it classifies how a failed one failed.)
Ended connect(Conn& conn, const std::string& conninfo, const Limit& limit);

// Sends `sql` and waits for its results. `one_statement`: the extended protocol, which runs
// exactly one statement ("COMMIT; DELETE ..." is refused); else the simple protocol (CREATE
// DATABASE). Done: `result` is the first failed result, else the last (null: the send
// failed; PQerrorMessage says why). TimedOut and Interrupted: the query was cancelled (as far
// as a live server lets it) and the connection is in no state for another query.
Ended exec(PGconn* conn, const std::string& sql, const Limit& limit, PgResult& result,
           bool one_statement = true);

// "timed out after 3.0s" or "interrupted": for failure messages.
std::string describe(Ended ended, Clock::time_point started);

}  // namespace rollback::actions::pg::wait
