// HTTP adapter (http.probe, http.request) helpers, exposed for tests. Transfers go through
// libcurl; several URLs share one curl multi handle, so N parallel probes take about one
// probe's latency rather than N of them.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions::http {

struct StatusRange {
  int low = 200;
  int high = 399;
  bool contains(long status) const { return status >= low && status <= high; }
};

// `expect_status`: 200, [200, 204], "200-299", "2xx", or a list mixing them.
Result<std::vector<StatusRange>> parse_expect_status(const nlohmann::json& value);
std::string describe_status(const std::vector<StatusRange>& ranges);  // "200-299 or 404"

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool has_body = false;
  Millis timeout{30'000};
  bool insecure = false;  // skip TLS verification (only when a plan says so)
  std::string user, password;  // HTTP basic auth when user is set (never in argv or logs)
};

struct Response {
  bool transferred = false;  // false: no HTTP answer (refused, DNS, TLS, timeout)
  bool timed_out = false;
  std::string error;         // curl's error text when !transferred
  long status = 0;
  Millis latency{0};
  std::string body;          // at most kMaxBody bytes kept
};

inline constexpr size_t kMaxBody = 1024 * 1024;

// Performs every request concurrently on one curl multi handle; results in input order.
std::vector<Response> perform_all(const std::vector<Request>& requests);

// `text` percent-encoded for a URL's query string (a PromQL query, an Alertmanager matcher).
std::string url_escape(std::string_view text);

// A header whose value is sensitive by name (authorization, cookie, *token*, *key*,
// *secret*, *password*): describe() shows it as *** even when no secret was registered.
bool sensitive_header(std::string_view name);

// The first `limit` characters of a body, one line, redacted: for failure messages.
std::string body_excerpt(std::string_view body, size_t limit = 200);

// The actions, assembled by register_http_actions (src/actions/http.cpp).
// How http.probe and http.request rehearse (http_rehearse.cpp; actions/rehearsal.hpp): `url`
// on a local port the rehearsal moved, on the rehearsal's port; nullopt: not moved.
std::optional<std::string> rehearsal_url(const Rehearsal& r, const std::string& url);
// Every URL on its moved port, or the step skipped (it would probe production).
Result<Rehearsed> rehearse_urls(Rehearsal& r, ActionContext& ctx, const Params& p);

Action probe_action();
Action request_action();

}  // namespace rollback::actions::http
