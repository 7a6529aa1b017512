#include <rollback/actions/http_limits.hpp>

#include <algorithm>

#include <rollback/proc/runner.hpp>

namespace rollback::actions::http {
namespace {

int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return proc::cancel_requested() ? 1 : 0;  // non-zero: libcurl aborts the transfer
}

}  // namespace

void bound_transfer(CURL* curl, Millis limit) {
  long ms = static_cast<long>(std::max<long long>(1, limit.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(ms, 10'000L));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
}

void stop_on_cancel(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}

}  // namespace rollback::actions::http
