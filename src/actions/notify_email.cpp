// notify.email: a plain-text mail through an SMTP relay (libcurl's SMTP). Delivery
// failures are reported, never turned into a failed step.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

#include <rollback/actions/http_limits.hpp>
#include <rollback/actions/notify.hpp>
#include <rollback/actions/rehearsal.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/time.hpp>

namespace rollback::actions::notify {
namespace {

constexpr Millis kMailTimeout{10'000};

std::string header_value(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    unsigned v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string encoded_subject(std::string_view subject) {
  auto text = header_value(subject);
  bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return uint8_t(c) < 0x80; });
  return ascii ? text : "=?UTF-8?B?" + base64(text) + "?=";
}

std::string crlf_lines(std::string_view body) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r') continue;
    if (body[i] == '\n') out += "\r\n";
    else out += body[i];
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

struct Upload {
  std::string_view data;
  size_t sent = 0;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t n = std::min(size * count, up->data.size() - up->sent);
  std::memcpy(buffer, up->data.data() + up->sent, n);
  up->sent += n;
  return n;
}

std::string describe_mail(const Params& p) {
  return fmt::format("mail to {} via {}", fmt::join(p.list("to"), ", "), display_url(p.str("smtp")));
}

Outcome send(ActionContext& ctx, const Params& p) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (p.has("password")) register_secret(p.str("password"));
  const std::string what = describe_mail(p);
  if (ctx.dry_run) return Outcome::success("would send " + what);

  Mail mail{p.str("from"), p.list("to"), p.str("subject"), p.str("body"),
            std::chrono::system_clock::now()};
  const std::string message = format_mail(mail);
  Upload upload{message};

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return not_delivered("libcurl could not start a transfer");
  curl_slist* raw_rcpt = nullptr;
  for (const auto& to : mail.to)
    raw_rcpt = curl_slist_append(raw_rcpt, ("<" + envelope_address(to) + ">").c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt(raw_rcpt, curl_slist_free_all);
  const std::string from = "<" + envelope_address(mail.from) + ">";
  const std::string smtp = p.str("smtp");
  const std::string user = p.str("username"), password = p.str("password");
  char error[CURL_ERROR_SIZE] = {0};
  auto timeout = ctx.remaining(p.duration("timeout", kMailTimeout));

  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, smtp.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  // smtp:// upgrades with STARTTLS when the relay offers it; smtps:// is TLS from the start.
  curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  if (!user.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password.c_str());
  }
  http::bound_transfer(h, timeout);
  if (!ctx.survives_cancel) http::stop_on_cancel(h);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);

  if (ctx.log) ctx.log("sending " + what);
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string why = error[0] ? error : curl_easy_strerror(rc);
    return not_delivered(fmt::format("{}: {}", what, why));
  }
  return delivered("notification sent: " + what);
}

void validate_mail(ParamCheck& check) {
  if (auto url = check.literal("smtp");
      url && !url->starts_with("smtp://") && !url->starts_with("smtps://"))
    check.error("smtp", "expected smtp://host:port or smtps://host:port, saw \"" +
                            display_url(*url) + "\"");
  if (check.has("to") && check.node("to").IsSequence() && check.node("to").size() == 0)
    check.error("to", "notify.email needs at least one recipient in `to`");
  if (check.has("username") != check.has("password"))
    check.error_at_step("notify.email: give both `username` and `password`, or neither");
  if (auto t = check.literal("timeout"); t && !parse_duration(*t))
    check.error("timeout", "expected a duration such as 10s, saw \"" + *t + "\"");
}

}  // namespace

std::string envelope_address(std::string_view mailbox) {
  auto open = mailbox.rfind('<');
  auto close = mailbox.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open)
    return std::string(mailbox.substr(open + 1, close - open - 1));
  auto first = mailbox.find_first_not_of(" \t");
  auto last = mailbox.find_last_not_of(" \t");
  return first == std::string_view::npos ? "" : std::string(mailbox.substr(first, last - first + 1));
}

std::string format_mail(const Mail& mail) {
  std::string date = format_utc(mail.date, kMailDateUtc);
  std::vector<std::string> to;
  for (const auto& r : mail.to) to.push_back(header_value(r));
  return fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
      "X-Mailer: rollback/" ROLLBACK_VERSION "\r\n\r\n{}",
      date, header_value(mail.from), fmt::join(to, ", "), encoded_subject(mail.subject),
      crlf_lines(mail.body));
}

Action email_action() {
  return Action{
      .name = "notify.email",
      .summary = "send a plain-text mail through an SMTP relay",
      .params = {param("smtp").required()
                     .doc("the relay, smtp://host:port (STARTTLS when offered) or smtps://host:port"),
                 param("from").required().doc("the sender, an address or Name <address>"),
                 param("to", ParamType::StringList).required().doc("the recipients, each an address or Name <address>"),
                 param("subject").required().doc("the subject line (UTF-8 allowed)"),
                 param("body").doc("the plain-text body (default: empty)"),
                 param("username").doc("the SMTP login user; goes with password"),
                 param("password").doc("the SMTP login password; goes with username, never logged"),
                 param("timeout", ParamType::Duration)
                     .doc("how long delivery may take (default 10s, cut to the step's time)")},
      .destructive = false,
      .read_only = false,
      .rerun_safe = true,
      .validate = validate_mail,
      .describe = describe_mail,
      .preflight = nullptr,
      .run = send,
      .rehearse = not_rehearsed(kNotRehearsed),
  };
}

}  // namespace rollback::actions::notify
