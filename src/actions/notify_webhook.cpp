// notify.webhook: POST a message to a chat webhook (Slack, Mattermost, Teams, anything
// taking JSON). Delivery failures are reported, never turned into a failed step.
#include <algorithm>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rollback/actions/http_limits.hpp>
#include <rollback/actions/notify.hpp>
#include <rollback/actions/rehearsal.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::notify {
namespace {

constexpr Millis kWebhookTimeout{10'000};
constexpr size_t kMaxResponseKept = 300;

size_t keep_response(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t n = size * count;
  if (out->size() < kMaxResponseKept) out->append(data, std::min(n, kMaxResponseKept - out->size()));
  return n;
}

std::string body_of(const Params& p) {
  if (p.has("template")) return p.str("template");
  return nlohmann::json{{"text", p.str("message")}}.dump();
}

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

Outcome post(ActionContext& ctx, const Params& p) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  const std::string url = p.str("url");
  const std::string shown = display_url(url);
  if (ctx.dry_run) return Outcome::success("would POST " + shown);

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return not_delivered("libcurl could not start a transfer");

  // Header values may be secrets (tokens): they go to libcurl and nowhere else.
  curl_slist* raw_headers = nullptr;
  raw_headers = curl_slist_append(
      raw_headers, ("Content-Type: " + p.str("content_type", "application/json")).c_str());
  for (const auto& [name, value] : p.map("headers"))
    raw_headers = curl_slist_append(raw_headers, (name + ": " + one_line(value)).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers,
                                                                       curl_slist_free_all);
  const std::string body = body_of(p);
  std::string response;
  char error[CURL_ERROR_SIZE] = {0};
  auto timeout = ctx.remaining(p.duration("timeout", kWebhookTimeout));

  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  http::bound_transfer(h, timeout);
  if (!ctx.survives_cancel) http::stop_on_cancel(h);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_response);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "rollback/" ROLLBACK_VERSION);

  std::vector<std::string> names;
  for (const auto& [name, value] : p.map("headers")) names.push_back(name);
  if (ctx.log) ctx.log(fmt::format("POST {} ({} bytes{}{})", shown, body.size(),
                      names.empty() ? "" : ", headers: ", fmt::join(names, ", ")));

  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string why = error[0] ? error : curl_easy_strerror(rc);
    return not_delivered(fmt::format("POST {}: {}", shown, why));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    auto out = not_delivered(fmt::format("POST {}: HTTP {} (expected 2xx){}", shown, status,
                                         response.empty() ? "" : ": " + one_line(response)));
    out.data["status"] = status;
    return out;
  }
  auto out = delivered(fmt::format("notification sent: POST {} (HTTP {})", shown, status));
  out.data["status"] = status;
  return out;
}

void validate_webhook(ParamCheck& check) {
  if (!check.has("template") && !check.has("message"))
    check.error_at_step("notify.webhook needs `message` (sent as {\"text\": ...}) or `template` "
                        "(the request body as written)");
  if (auto url = check.literal("url");
      url && !url->starts_with("http://") && !url->starts_with("https://"))
    check.error("url", "expected an http:// or https:// URL, saw \"" + display_url(*url) + "\"");
  if (auto t = check.literal("timeout"); t && !parse_duration(*t))
    check.error("timeout", "expected a duration such as 10s, saw \"" + *t + "\"");
}

}  // namespace

Action webhook_action() {
  return Action{
      .name = "notify.webhook",
      .summary = "POST a notification to a webhook (Slack-compatible JSON unless `template`)",
      .params = {param("url").required().doc("the webhook URL to POST to, http(s)://"),
                 param("template").doc("the request body exactly as written (instead of message)"),
                 param("message").doc("the text to send, posted as JSON with a text field (Slack-compatible)"),
                 param("content_type").doc("the Content-Type header (default application/json)"),
                 param("headers", ParamType::StringMap)
                     .doc("extra request headers, Name: value (only their names are logged)"),
                 param("timeout", ParamType::Duration)
                     .doc("how long delivery may take (default 10s, cut to the step's time)")},
      .destructive = false,
      .read_only = false,
      .rerun_safe = true,
      .validate = validate_webhook,
      .describe = [](const Params& p) { return "POST " + display_url(p.str("url")); },
      .preflight = nullptr,
      .run = post,
      .rehearse = not_rehearsed(kNotRehearsed),
  };
}

}  // namespace rollback::actions::notify
