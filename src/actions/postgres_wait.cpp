#include "postgres_wait.hpp"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include <rollback/proc/runner.hpp>

namespace rollback::actions::pg::wait {
namespace {

constexpr Millis kSlice{100};  // how often a wait looks at the deadline and the cancel flag
constexpr Millis kCancelWait{200};  // for the server to take the cancel; a paused one never does

std::optional<Ended> over(const Limit& limit) {
  if (!limit.survives_cancel && proc::cancel_requested()) return Ended::Interrupted;
  if (Clock::now() >= limit.deadline) return Ended::TimedOut;
  return std::nullopt;
}

int slice_ms(const Limit& limit) {
  auto left = std::chrono::duration_cast<Millis>(limit.deadline - Clock::now());
  return static_cast<int>(std::clamp(left, Millis(1), kSlice).count());
}

// Asks the server to cancel the running query. PQcancel blocks until the server closes the
// cancel connection, which a paused server never does: it runs on a detached thread that we
// wait for briefly (a live server has the request by then). Left blocked, it ends with the
// process; the query then ends at the server's statement_timeout, or when it notices the
// closed connection.
void cancel_running(PGconn* conn) {
  PGcancel* cancel = PQgetCancel(conn);
  if (!cancel) return;
  auto done = std::make_shared<std::atomic<bool>>(false);
  try {
    std::thread([cancel, done] {
      char why[256];
      PQcancel(cancel, why, sizeof why);
      PQfreeCancel(cancel);
      done->store(true);
    }).detach();
  } catch (const std::system_error&) {  // no thread to be had: the connection's close will do
    PQfreeCancel(cancel);
    return;
  }
  for (auto until = Clock::now() + kCancelWait; !done->load() && Clock::now() < until;)
    std::this_thread::sleep_for(Millis(10));
}

bool failed(const PGresult* r) {
  auto s = PQresultStatus(r);
  return s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY;
}

}  // namespace

Limit step_limit(const ActionContext& ctx, Millis cap) {
  if (cap.count() == 0) return {ctx.deadline};
  return {Clock::now() + ctx.remaining(cap)};
}

Ended connect(Conn& conn, const std::string& conninfo, const Limit& limit) {
  conn.reset(PQconnectStart(conninfo.c_str()));
  if (!conn) return Ended::Done;
  // Bad options fail here, before any connection is tried; so does an unresolvable host.
  if (PQstatus(conn.get()) == CONNECTION_BAD) return Ended::Done;
  // As libpq's documentation prescribes: before the first PQconnectPoll, wait to write.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
    if (auto ended = over(limit)) return *ended;
    pollfd fd{.fd = PQsocket(conn.get()),
              .events = static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT),
              .revents = 0};
    int ready = ::poll(&fd, 1, slice_ms(limit));
    if (ready < 0 && errno != EINTR) return Ended::Done;  // not connected: the caller says so
    if (ready > 0) state = PQconnectPoll(conn.get());
  }
  return Ended::Done;
}

Ended exec(PGconn* conn, const std::string& sql, const Limit& limit, PgResult& result,
           bool one_statement) {
  result.reset();
  int sent = one_statement
                 ? PQsendQueryParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)
                 : PQsendQuery(conn, sql.c_str());
  if (!sent) return Ended::Done;
  while (true) {
    while (PQisBusy(conn)) {
      if (auto ended = over(limit)) {
        cancel_running(conn);
        return *ended;
      }
      pollfd fd{.fd = PQsocket(conn), .events = POLLIN, .revents = 0};
      int ready = ::poll(&fd, 1, slice_ms(limit));
      if (ready < 0 && errno != EINTR) break;
      // A lost connection: PQgetResult reports it (it no longer waits on a closed socket).
      if (ready > 0 && !PQconsumeInput(conn)) break;
    }
    PGresult* next = PQgetResult(conn);
    if (!next) return Ended::Done;
    if (!result || !failed(result.get()))
      result.reset(next);
    else
      PQclear(next);
  }
}

std::string describe(Ended ended, Clock::time_point started) {
  if (ended == Ended::Interrupted) return "interrupted";
  return fmt::format("timed out after {}",
                     format_duration(std::chrono::duration_cast<Millis>(Clock::now() - started)));
}

}  // namespace rollback::actions::pg::wait
