// Notification actions: notify.webhook (HTTP POST, Slack-compatible by default) and
// notify.email (SMTP through libcurl).
//
// A notification never fails a rollback: when it cannot be delivered the Outcome stays
// ok=true, its message starts with "not delivered:" and data carries {"delivered": false,
// "error": ...}. A rollback that restored service must not be reported (or retried, or
// exit non-zero) because Slack or the mail relay was down during the same incident; the
// report still shows the undelivered notice so someone tells people by hand.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <rollback/actions/action.hpp>

namespace rollback::actions::notify {

// The two actions, registered together by register_notify_actions (adapters.hpp).
// Why a rehearsal skips a notification (both actions' `rehearse`).
inline constexpr const char* kNotRehearsed = "not rehearsed: a rehearsal notifies nobody (its exit code and report do)";

Action webhook_action();
Action email_action();

// A URL safe to print: registered secrets redacted, a userinfo password and every query
// value replaced by "***" (webhook tokens often travel there).
std::string display_url(std::string_view url);

// The Outcome for a delivered / undelivered notification (see the header comment).
Outcome delivered(std::string summary);
Outcome not_delivered(std::string reason);

struct Mail {
  std::string from;               // "Ops <ops@example.com>" or "ops@example.com"
  std::vector<std::string> to;
  std::string subject;
  std::string body;
  std::chrono::system_clock::time_point date;
};

// The RFC 5322 message (CRLF line ends; Date, From, To, Subject, MIME-Version,
// Content-Type text/plain; charset=utf-8). CR/LF inside header values are replaced by
// spaces so a value cannot add headers; a non-ASCII subject is RFC 2047 encoded.
std::string format_mail(const Mail& mail);

// The bare address of "Name <addr>" (or the text itself), for the SMTP envelope.
std::string envelope_address(std::string_view mailbox);

}  // namespace rollback::actions::notify
