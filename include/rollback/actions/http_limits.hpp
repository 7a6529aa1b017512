// What every libcurl transfer of rollback shares, so that none of them can wait for ever:
// a deadline for the whole transfer (connect, send and receive together), and an end within
// about a second of the run being interrupted (SIGINT, SIGTERM). Used by the http.* and
// monitoring actions, the Coolify client and the notify actions.
#pragma once

#include <curl/curl.h>

#include <rollback/util/duration.hpp>

namespace rollback::actions::http {

// CURLOPT_TIMEOUT_MS = `limit` (at least 1 ms): the whole transfer, a server that accepts the
// connection and never answers included. The connect phase gets at most 10 s of it. Also
// CURLOPT_NOSIGNAL: we run beside other threads, so no SIGALRM for name resolution.
void bound_transfer(CURL* curl, Millis limit);

// Aborts the transfer (CURLE_ABORTED_BY_CALLBACK) once proc::cancel_requested(): libcurl calls
// its progress callback at least once a second, also while nothing arrives. Replaces any
// CURLOPT_XFERINFOFUNCTION the handle had.
void stop_on_cancel(CURL* curl);

// True when `code` is what stop_on_cancel's abort returns.
inline bool aborted_by_cancel(CURLcode code) {
  return code == CURLE_ABORTED_BY_CALLBACK;
}

}  // namespace rollback::actions::http
