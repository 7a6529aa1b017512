// What the two notification actions share: registration, the delivered / not-delivered
// outcomes and printable URLs.
#include <rollback/actions/notify.hpp>

#include <rollback/actions/adapters.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions {

void register_notify_actions(Registry& registry) {
  registry.add(notify::webhook_action());
  registry.add(notify::email_action());
}

namespace notify {

std::string display_url(std::string_view url) {
  std::string text = redact(url);
  // userinfo: scheme://user:password@host -> scheme://user:***@host
  auto scheme_end = text.find("://");
  if (scheme_end != std::string::npos) {
    auto authority = scheme_end + 3;
    auto path_start = text.find_first_of("/?#", authority);
    auto at = text.rfind('@', path_start == std::string::npos ? text.size() : path_start);
    if (at != std::string::npos && at > authority) {
      auto colon = text.find(':', authority);
      if (colon != std::string::npos && colon < at) text.replace(colon + 1, at - colon - 1, kRedacted);
    }
  }
  // query values: ?token=abc&x=1 -> ?token=***&x=***
  auto query = text.find('?');
  if (query == std::string::npos) return text;
  auto fragment = text.find('#', query);
  std::string out = text.substr(0, query + 1);
  std::string_view rest(text.data() + query + 1,
                        (fragment == std::string::npos ? text.size() : fragment) - query - 1);
  bool first = true;
  while (!rest.empty() || first) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    if (!first) out += '&';
    first = false;
    auto eq = pair.find('=');
    out += eq == std::string_view::npos ? std::string(pair)
                                        : std::string(pair.substr(0, eq + 1)) + std::string(kRedacted);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  if (fragment != std::string::npos) out += text.substr(fragment);
  return out;
}

Outcome delivered(std::string summary) {
  auto outcome = Outcome::success(redact(summary));
  outcome.data = {{"delivered", true}};
  return outcome;
}

Outcome not_delivered(std::string reason) {
  reason = redact(reason);
  auto outcome = Outcome::success("not delivered: " + reason);
  outcome.warning = true;
  outcome.data = {{"delivered", false}, {"error", reason}};
  return outcome;
}

}  // namespace notify
}  // namespace rollback::actions
