// How the http actions rehearse (include/rollback/actions/http.hpp): a URL on a port the
// rehearsal moved follows it; any other URL would reach production, so the step is skipped.
#include <rollback/actions/http.hpp>

#include <fmt/format.h>

#include <set>

#include <rollback/actions/rehearsal.hpp>

namespace rollback::actions::http {

std::optional<std::string> rehearsal_url(const Rehearsal& r, const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  auto authority_start = scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority_start);
  std::string authority = url.substr(authority_start, authority_end - authority_start);
  std::string userinfo;
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    userinfo = authority.substr(0, at + 1);
    authority = authority.substr(at + 1);
  }
  std::string host = authority, port_text;
  if (auto close = authority.rfind(']'); authority.starts_with('[') && close != std::string::npos) {
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  static const std::set<std::string> local{"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "[::]"};
  if (!local.contains(host)) return std::nullopt;
  std::string scheme = url.substr(0, scheme_end);
  int port = 0;
  try {
    port = port_text.empty() ? (scheme == "https" ? 443 : 80) : std::stoi(port_text);
  } catch (...) {
    return std::nullopt;
  }
  auto moved = r.port(port);
  if (!moved) return std::nullopt;
  std::string rest = authority_end == std::string::npos ? "" : url.substr(authority_end);
  return fmt::format("{}://{}{}:{}{}", scheme, userinfo, host == "0.0.0.0" ? "127.0.0.1" : host, *moved, rest);
}

Result<Rehearsed> rehearse_urls(Rehearsal& r, ActionContext&, const Params& p) {
  auto all = p.all();
  for (const char* key : {"url", "urls"}) {
    if (!p.has(key)) continue;
    nlohmann::json mapped = nlohmann::json::array();
    for (const auto& url : p.list(key)) {
      auto moved = rehearsal_url(r, url);
      if (!moved)
        return Rehearsed::skip(fmt::format("not rehearsed: {} is not a port the rehearsal moved; probing it would test "
                                           "production",
                                           url));
      mapped.push_back(*moved);
    }
    all[key] = std::string(key) == "url" ? mapped[0] : mapped;
  }
  return Rehearsed::run(Params(all), "against the rehearsal's ports");
}

}  // namespace rollback::actions::http
