// libcurl transfers for the http.* actions: every request of a step on one multi handle.
#include <rollback/actions/http.hpp>
#include <rollback/actions/http_limits.hpp>

#include <algorithm>
#include <cctype>
#include <memory>

#include <curl/curl.h>
#include <fmt/format.h>

#include <rollback/proc/runner.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::http {
namespace {

void global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

struct Transfer {
  const Request* request = nullptr;
  Response response;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  auto& body = t->response.body;
  if (body.size() < kMaxBody) body.append(data, std::min(bytes, kMaxBody - body.size()));
  return bytes;  // keep reading (and discarding) so the latency covers the whole answer
}

void setup(Transfer& t) {
  const Request& r = *t.request;
  t.easy = curl_easy_init();
  curl_easy_setopt(t.easy, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(t.easy, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
  bound_transfer(t.easy, r.timeout);
  stop_on_cancel(t.easy);
  curl_easy_setopt(t.easy, CURLOPT_USERAGENT, "rollback/" ROLLBACK_VERSION);
  curl_easy_setopt(t.easy, CURLOPT_PROTOCOLS_STR, "http,https");
  if (r.insecure) {
    curl_easy_setopt(t.easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(t.easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!r.user.empty()) {
    curl_easy_setopt(t.easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(t.easy, CURLOPT_USERNAME, r.user.c_str());
    curl_easy_setopt(t.easy, CURLOPT_PASSWORD, r.password.c_str());
  }
  if (r.method == "HEAD") {
    curl_easy_setopt(t.easy, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET" || r.has_body) {
    curl_easy_setopt(t.easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  if (r.has_body) {
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  for (const auto& [name, value] : r.headers) {
    t.headers = curl_slist_append(t.headers, (name + ": " + value).c_str());
  }
  // No "Expect: 100-continue" round trip on bodies: it adds a second of latency on servers
  // that ignore it.
  t.headers = curl_slist_append(t.headers, "Expect:");
  curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, t.headers);
}

void finish(Transfer& t, CURLcode code) {
  curl_off_t total_us = 0;
  curl_easy_getinfo(t.easy, CURLINFO_TOTAL_TIME_T, &total_us);
  t.response.latency = Millis(total_us / 1000);
  if (code == CURLE_OK) {
    t.response.transferred = true;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.response.status);
  } else if (aborted_by_cancel(code)) {
    t.response.error = "interrupted";
  } else {
    t.response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    t.response.error = redact(t.error[0] ? t.error : curl_easy_strerror(code));
  }
}

}  // namespace

std::vector<Response> perform_all(const std::vector<Request>& requests) {
  global_init();
  std::vector<Transfer> transfers(requests.size());
  CURLM* multi = curl_multi_init();
  for (size_t i = 0; i < requests.size(); ++i) {
    transfers[i].request = &requests[i];
    setup(transfers[i]);
    curl_easy_setopt(transfers[i].easy, CURLOPT_PRIVATE, &transfers[i]);
    curl_multi_add_handle(multi, transfers[i].easy);
  }
  int running = 0;
  do {
    // Each handle's progress callback aborts within a second of an interrupt; this ends
    // the wait at the next poll (100 ms).
    if (proc::cancel_requested()) break;
    if (curl_multi_perform(multi, &running) != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      finish(*t, msg->data.result);
    }
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  } while (running > 0);
  std::vector<Response> out;
  for (auto& t : transfers) {
    curl_multi_remove_handle(multi, t.easy);
    curl_easy_cleanup(t.easy);
    curl_slist_free_all(t.headers);
    if (!t.response.transferred && t.response.error.empty())
      t.response.error = proc::cancel_requested() ? "interrupted" : "transfer did not complete";
    out.push_back(std::move(t.response));
  }
  curl_multi_cleanup(multi);
  return out;
}

Result<std::vector<StatusRange>> parse_expect_status(const nlohmann::json& value) {
  std::vector<StatusRange> out;
  if (value.is_null()) return std::vector<StatusRange>{{200, 399}};
  auto add = [&](const nlohmann::json& item) -> Status {
    if (item.is_number_integer()) {
      int s = item.get<int>();
      out.push_back({s, s});
      return ok();
    }
    std::string text = item.is_string() ? item.get<std::string>() : item.dump();
    int low = 0, high = 0;
    char dash = 0;
    if (text.size() == 3 && std::isdigit(static_cast<unsigned char>(text[0])) &&
        (text.substr(1) == "xx" || text.substr(1) == "XX")) {
      low = (text[0] - '0') * 100;
      out.push_back({low, low + 99});
      return ok();
    }
    int n = std::sscanf(text.c_str(), "%d%c%d", &low, &dash, &high);
    if (n == 1 && std::to_string(low) == text) {
      out.push_back({low, low});
    } else if (n == 3 && dash == '-' && fmt::format("{}-{}", low, high) == text && low <= high) {
      out.push_back({low, high});
    } else {
      return fail(fmt::format("`expect_status` entry '{}' is not a status (200), a range (200-299) "
                              "or a class (2xx)", text));
    }
    return ok();
  };
  if (value.is_array()) {
    for (const auto& item : value) RB_TRY(add(item));
  } else {
    RB_TRY(add(value));
  }
  if (out.empty()) return fail("`expect_status` is an empty list");
  return out;
}

std::string describe_status(const std::vector<StatusRange>& ranges) {
  std::string out;
  for (const auto& r : ranges) {
    if (!out.empty()) out += " or ";
    out += r.low == r.high ? std::to_string(r.low) : fmt::format("{}-{}", r.low, r.high);
  }
  return out;
}

std::string url_escape(std::string_view text) {
  global_init();
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (!escaped) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

bool sensitive_header(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"authorization", "cookie", "token", "key", "secret", "password", "auth"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string body_excerpt(std::string_view body, size_t limit) {
  // Redact first (a secret may straddle the cut), then cut and flatten.
  std::string text = redact(body.substr(0, std::min(body.size(), limit + 256)));
  bool cut = text.size() > limit || body.size() > limit + 256;
  if (text.size() > limit) text.resize(limit);
  for (auto& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    else if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return cut ? text + "..." : text;
}

}  // namespace rollback::actions::http
