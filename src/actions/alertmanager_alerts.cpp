// alertmanager.alerts: healthy while no active, unsilenced, uninhibited alert matches
// `matchers` (/api/v2/alerts). Alertmanager does the matching, in its own matcher syntax, so
// a criterion reads exactly like the team's silences and routes. The observed value names
// the firing alerts and their startsAt, and the earliest startsAt becomes the outcome's
// `began`: the incident log's "when the failure began" then comes from the alert.
#include <rollback/actions/adapters.hpp>
#include <rollback/actions/monitoring.hpp>

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>
#include <rollback/util/time.hpp>

namespace rollback::actions::monitoring {
namespace {

// name, operator (=, !=, =~, !~), then a quoted or bare value: Alertmanager's matcher.
const std::regex& matcher_pattern() {
  static const std::regex re(
      R"re(^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^",]*)\s*$)re");
  return re;
}

std::string alert_line(const Alert& a) {
  return fmt::format("{}{} since {}", a.name, a.labels == "{}" ? "" : a.labels, a.starts_at);
}

std::string matchers_text(const std::vector<std::string>& matchers) {
  std::string out;
  for (const auto& m : matchers) out += (out.empty() ? "" : ", ") + m;
  return out;
}

Outcome run_alerts(ActionContext& ctx, const Params& p) {
  auto matchers = split_matchers(p.raw("matchers"));
  if (!matchers) return Outcome::failure(matchers.error().message);
  std::string query = "/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=false";
  for (const auto& m : *matchers) query += "&filter=" + http::url_escape(m);
  auto res = http::perform_all({monitoring_request(ctx, p, query)}).front();
  auto where = redact(p.str("url"));
  auto named = fmt::format("alertmanager.alerts {{{}}}", redact(matchers_text(*matchers)));
  if (!res.transferred) {
    auto out = Outcome::failure(
        fmt::format("{}: Alertmanager at {} unreachable: {}", named, where, res.error), true);
    out.observations.push_back({"alerts", "unreachable", false});
    return out;
  }
  if (res.status != 200) {
    auto out = Outcome::failure(fmt::format("{}: Alertmanager at {} answered status {}: {}", named,
                                            where, res.status, http::body_excerpt(res.body)),
                                res.status >= 500 || res.status == 429);
    out.plan_error = res.status == 400;  // a matcher Alertmanager cannot parse
    out.observations.push_back({"alerts", "error", false});
    return out;
  }
  auto alerts = parse_alerts(res.body);
  if (!alerts) return Outcome::failure(fmt::format("{}: {}", named, alerts.error().message));
  // The query asked for active ones only; an older Alertmanager that ignores a filter must
  // not turn a silenced alert into a rollback.
  std::erase_if(*alerts, [](const Alert& a) { return a.state != "active"; });
  std::sort(alerts->begin(), alerts->end(),
            [](const Alert& a, const Alert& b) { return a.starts_at < b.starts_at; });
  Outcome out;
  out.data = {{"url", where}, {"firing", alerts->size()}};
  if (alerts->empty()) {
    out.message = fmt::format("{}: no active alert matches", named);
    out.observations.push_back({"alerts", "none firing", true});
    return out;
  }
  std::string observed;
  for (size_t i = 0; i < alerts->size() && i < 5; ++i)
    observed += (i ? "; " : "") + alert_line((*alerts)[i]);
  if (alerts->size() > 5) observed += fmt::format("; and {} more", alerts->size() - 5);
  observed = redact(observed);
  out.ok = false;
  out.began = alerts->front().started;
  out.message = fmt::format("{}: {} alert{} firing: {}", named, alerts->size(),
                            alerts->size() == 1 ? "" : "s", observed);
  out.observations.push_back(
      {"alerts", observed, false, static_cast<double>(alerts->size()), Observation::Worse::Higher});
  return out;
}

}  // namespace

Result<std::vector<std::string>> split_matchers(const nlohmann::json& matchers) {
  std::vector<std::string> pieces;
  auto split = [&](const std::string& text) {
    // Commas inside a quoted value belong to the value.
    std::string piece;
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\\' && quoted && i + 1 < text.size()) {
        piece += c;
        piece += text[++i];
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) {
        pieces.push_back(piece);
        piece.clear();
      } else {
        piece += c;
      }
    }
    pieces.push_back(piece);
  };
  std::string text = matchers.is_string() ? matchers.get<std::string>() : "";
  // Braces as in PromQL ({alertname="X"}) are accepted and dropped.
  if (auto t = trim(text); t.size() >= 2 && t.front() == '{' && t.back() == '}')
    text = t.substr(1, t.size() - 2);
  if (matchers.is_array()) {
    for (const auto& m : matchers) split(m.is_string() ? m.get<std::string>() : m.dump());
  } else if (matchers.is_string()) {
    split(text);
  } else {
    return fail("matchers: expected matchers such as alertname=\"WebhookErrors\", env=\"staging\"");
  }
  std::vector<std::string> out;
  for (const auto& piece : pieces) {
    std::smatch m;
    if (trim(piece).empty()) continue;
    if (!std::regex_match(piece, m, matcher_pattern()))
      return fail(fmt::format("matchers: '{}' is not a matcher such as alertname=\"WebhookErrors\"",
                              trim(piece)));
    std::string value = m[3].str();
    if (value.empty() || value.front() != '"') value = "\"" + value + "\"";
    out.push_back(m[1].str() + m[2].str() + value);
  }
  if (out.empty())
    return fail("matchers: empty; name at least one label, such as alertname=\"WebhookErrors\"");
  return out;
}

Result<std::vector<Alert>> parse_alerts(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return fail("Alertmanager's answer is not a JSON list of alerts");
  std::vector<Alert> out;
  for (const auto& item : doc) {
    if (!item.is_object()) continue;
    Alert a;
    std::string labels;
    auto all_labels =
        item.value("labels", nlohmann::json::object());  // items() must not outlive it
    for (const auto& [name, value] : all_labels.items()) {
      std::string v = value.is_string() ? value.get<std::string>() : value.dump();
      if (name == "alertname")
        a.name = v;
      else
        labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", name, v);
    }
    a.labels = "{" + labels + "}";
    a.starts_at = item.value("startsAt", "");
    a.started = parse_iso_utc(a.starts_at);
    a.state = item.value("status", nlohmann::json::object()).value("state", "active");
    out.push_back(std::move(a));
  }
  return out;
}

Action alertmanager_alerts_action() {
  Action a;
  a.name = "alertmanager.alerts";
  a.summary =
      "healthy while no active, unsilenced Alertmanager alert matches `matchers` (read-only)";
  a.params = {
      param("url")
          .required()
          .names(plan::Names::Url)
          .doc("Alertmanager's base URL, such as http://alertmanager:9093"),
      param("matchers", ParamType::Any)
          .required()
          .doc("label matchers, Alertmanager's syntax: alertname=\"WebhookErrors\", "
               "env=\"staging\" (or a list)"),
      param("token").doc("a bearer token (a secret: ${secrets.NAME})"),
      param("user").doc("HTTP basic auth user, with password"),
      param("password").doc("HTTP basic auth password (a secret: ${secrets.NAME})"),
      param("timeout", ParamType::Duration)
          .doc("how long the request may take (default: the step's remaining time, else 30s)"),
      param("insecure", ParamType::Bool)
          .doc("skip TLS certificate and host name verification (default false)")};
  a.read_only = true;
  a.failure_changes_nothing = true;
  a.validate = [](ParamCheck& check) {
    auto node = check.node("matchers");
    if (auto m = check.literal("matchers"); m && m->find("${") == std::string::npos) {
      if (auto parsed = split_matchers(nlohmann::json(*m)); !parsed)
        check.error("matchers", parsed.error().message);
    } else if (node.IsDefined() && !node.IsScalar() && !node.IsSequence()) {
      check.error("matchers", "matchers: expected a string or a list of matchers");
    }
    if (check.has("token") && (check.has("user") || check.has("password")))
      check.error("token", "set `token` or `user`/`password`, not both");
    for (const char* secret : {"token", "password"}) {
      if (auto v = check.literal(secret); v && !v->empty())
        check.error(
            secret,
            fmt::format("{}: write it as ${{secrets.NAME}}, not literally in the plan", secret));
    }
  };
  a.describe = [](const Params& p) {
    auto m = split_matchers(p.raw("matchers"));
    return fmt::format("list active alerts at {} matching {{{}}}", redact(p.str("url")),
                       m ? redact(matchers_text(*m)) : std::string("?"));
  };
  a.run = run_alerts;
  return a;
}

}  // namespace rollback::actions::monitoring
