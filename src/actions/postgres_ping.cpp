// pg.ready's check: PQping's answer (is a server there, accepting connections?) within a
// deadline in milliseconds, by polling the connection instead of blocking in libpq, and no
// longer once the run is interrupted.
#include <rollback/actions/postgres.hpp>

#include <poll.h>
#include <algorithm>
#include <chrono>
#include <memory>
#include <regex>

#include <libpq-fe.h>

#include <rollback/proc/runner.hpp>

namespace rollback::actions::pg {
namespace {

using Clock = std::chrono::steady_clock;

// PQping calls a server up when it answered at all, unless its answer was 57P03 ("the
// database system is starting up / shutting down"). The SQLSTATE is not public on a failed
// connection, so the error text is asked for in verbose form, which carries it
// ("FATAL:  57P03:  the database system is starting up"), in every server language.
Ping classify_failure(PGconn* conn) {
  if (PQconnectionNeedsPassword(conn)) return Ping::Ok;  // it asked for one: it is up
  static const std::regex sqlstate(R"(:  ([0-9A-Z]{5}): )");
  std::cmatch m;
  const char* why = PQerrorMessage(conn);
  if (!why || !std::regex_search(why, m, sqlstate)) return Ping::NoResponse;
  return m[1].str() == "57P03" ? Ping::Reject : Ping::Ok;
}

}  // namespace

Ping ping_within(const std::string& conninfo, Millis budget) {
  auto deadline = Clock::now() + budget;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectStart(conninfo.c_str()), &PQfinish);
  if (!conn) return Ping::NoAttempt;  // out of memory
  PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);
  if (PQstatus(conn.get()) == CONNECTION_BAD) {
    // Bad options fail here, before any connection is tried; so does an unresolvable host.
    std::string why = PQerrorMessage(conn.get());
    return why.find("invalid") != std::string::npos ? Ping::NoAttempt : Ping::NoResponse;
  }
  // As libpq's documentation prescribes: before the first PQconnectPoll, wait to write.
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (true) {
    if (state == PGRES_POLLING_OK) return Ping::Ok;
    if (state == PGRES_POLLING_FAILED) return classify_failure(conn.get());
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    // The deadline passed with the server silent, or the run was interrupted.
    if (left <= 0 || proc::cancel_requested()) return Ping::NoResponse;
    pollfd fd{.fd = PQsocket(conn.get()), .events = static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT),
              .revents = 0};
    // In slices, to notice an interrupt (SIGTERM) within 100 ms.
    int ready = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (ready < 0 && errno != EINTR) return Ping::NoResponse;
    if (ready > 0) state = PQconnectPoll(conn.get());
  }
}

}  // namespace rollback::actions::pg
