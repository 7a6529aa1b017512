// prometheus.query: one PromQL instant query (/api/v1/query) held to `expect`, as Argo
// Rollouts and Flagger decide, for a criterion or a verify step. Read-only, so dry-run runs
// it. "No data" fails unless `on_empty: pass`: a typo in a label must not read as healthy.
// Prometheus refusing the query (bad_data) is the plan's fault, not the service's: the
// outcome says so (plan_error) and preflight stops there; an unreachable Prometheus is a
// transient probe failure.
#include <rollback/actions/adapters.hpp>
#include <rollback/actions/monitoring.hpp>

#include <cmath>
#include <cstdlib>
#include <variant>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>

namespace rollback::actions::monitoring {
namespace {

std::string labels_text(const nlohmann::json& metric) {
  std::string out;
  for (const auto& [name, value] : metric.items()) {
    if (!out.empty()) out += ",";
    out +=
        fmt::format("{}=\"{}\"", name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return "{" + out + "}";
}

// A sample is [unix time, "value"]; the value is text so that NaN and +Inf survive JSON.
Result<Series> sample_of(const nlohmann::json& sample, std::string labels) {
  if (!sample.is_array() || sample.size() != 2 || !sample[1].is_string())
    return fail("expected a sample [time, \"value\"] in Prometheus' answer");
  Series s{std::move(labels), 0, sample[1].get<std::string>()};
  char* end = nullptr;
  s.value = std::strtod(s.text.c_str(), &end);  // accepts NaN, +Inf, -Inf as Prometheus writes them
  if (s.text.empty() || *end != '\0')
    return fail(fmt::format("'{}' in Prometheus' answer is not a number", s.text));
  return s;
}

std::string shown(double value, const std::string& text) {
  if (!std::isfinite(value)) return text;
  return fmt::format("{:.6g}", value);
}

Result<OnEmpty> on_empty_of(const Params& p) {
  auto v = p.str("on_empty", "fail");
  if (v == "fail") return OnEmpty::Fail;
  if (v == "pass") return OnEmpty::Pass;
  return fail(fmt::format("on_empty: expected fail or pass, got '{}'", v));
}

Result<PerSeries> per_series_of(const Params& p) {
  auto v = p.str("per_series", "all");
  if (v == "all") return PerSeries::All;
  if (v == "any") return PerSeries::Any;
  return fail(fmt::format("per_series: expected all or any, got '{}'", v));
}

std::string where_of(const Params& p) {
  return redact(p.str("url"));
}

// The query named in every message, the way the operator wrote it.
std::string named(const Params& p) {
  return fmt::format("prometheus.query `{}`", redact(p.str("query")));
}

Outcome refused(const Params& p, const http::Response& res, const QueryAnswer& answer) {
  auto why = answer.error_type.empty()
                 ? fmt::format("{}: {}", named(p), redact(answer.error))
                 : fmt::format("{}: Prometheus at {} refused the query ({}): {}", named(p),
                               where_of(p), answer.error_type, redact(answer.error));
  auto out = Outcome::failure(why, res.status >= 500);
  out.plan_error = answer.plan_error;
  out.observations.push_back({"value", out.plan_error ? "query refused" : "error", false});
  return out;
}

// Asks Prometheus; a failed Outcome for every way of not getting series back.
std::variant<QueryAnswer, Outcome> ask(ActionContext& ctx, const Params& p) {
  auto request =
      monitoring_request(ctx, p, "/api/v1/query?query=" + http::url_escape(p.str("query")));
  auto res = http::perform_all({request}).front();
  if (!res.transferred) {
    auto out = Outcome::failure(
        fmt::format("{}: Prometheus at {} unreachable: {}", named(p), where_of(p), res.error),
        true);
    out.observations.push_back({"value", "unreachable", false});
    return out;
  }
  auto answer = parse_query_answer(res.body);
  if (answer && answer->refused) return refused(p, res, *answer);
  if (res.status != 200 || !answer) {
    auto out = Outcome::failure(
        fmt::format("{}: Prometheus at {} answered status {}: {}", named(p), where_of(p),
                    res.status,
                    answer ? http::body_excerpt(res.body)
                           : answer.error().message + "; body: " + http::body_excerpt(res.body)),
        res.status >= 500 || res.status == 429);
    out.observations.push_back({"value", "error", false});
    return out;
  }
  return *answer;
}

Outcome run_query(ActionContext& ctx, const Params& p) {
  auto expect = parse_comparison(p.str("expect"));
  if (!expect)
    return Outcome::failure(fmt::format("{}: expect: {}", named(p), expect.error().message));
  auto on_empty = on_empty_of(p);
  if (!on_empty) return Outcome::failure(on_empty.error().message);
  auto per_series = per_series_of(p);
  if (!per_series) return Outcome::failure(per_series.error().message);
  auto asked = ask(ctx, p);
  if (auto* failed = std::get_if<Outcome>(&asked)) return *failed;
  const auto& answer = std::get<QueryAnswer>(asked);

  auto verdict = judge_query(answer.series, *expect, *on_empty, *per_series);
  Outcome out;
  out.ok = verdict.ok;
  out.observations.push_back(
      {"value", redact(verdict.observed), verdict.ok, verdict.number,
       verdict.empty ? Observation::Worse::Unknown : Observation::worse_for(*expect)});
  out.data = {{"url", where_of(p)}, {"series", answer.series.size()}};
  if (verdict.number) out.data["value"] = *verdict.number;
  out.message = redact(verdict.ok ? fmt::format("{}: {} (expected {} {})", named(p),
                                                verdict.observed, expect->op, expect->operand)
                                  : fmt::format("{}: {}", named(p), verdict.problem));
  return out;
}

// Bad PromQL is found before anything changes; an unreachable Prometheus is not a reason
// to refuse a rollback (monitoring being down is one of the runbook's own warnings).
Outcome preflight_query(ActionContext& ctx, const Params& p) {
  auto asked = ask(ctx, p);
  if (auto* failed = std::get_if<Outcome>(&asked); failed && failed->plan_error) return *failed;
  if (auto* failed = std::get_if<Outcome>(&asked))
    return Outcome::success("not checked now: " + failed->message);
  return Outcome::success(named(p) + ": Prometheus accepts the query");
}

void validate_query(ParamCheck& check) {
  if (auto e = check.literal("expect"); e && !parse_comparison(*e))
    check.error("expect",
                fmt::format("expect: \"{}\" is not a comparison such as \"<= 0.05\"", *e));
  if (check.has("token") && (check.has("user") || check.has("password")))
    check.error("token", "set `token` or `user`/`password`, not both");
  if (check.has("user") != check.has("password"))
    check.error(check.has("user") ? "user" : "password", "`user` and `password` go together");
  for (const char* secret : {"token", "password"}) {
    if (auto v = check.literal(secret); v && !v->empty())
      check.error(
          secret,
          fmt::format("{}: write it as ${{secrets.NAME}}, not literally in the plan", secret));
  }
}

}  // namespace

Result<QueryAnswer> parse_query_answer(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("Prometheus' answer is not JSON");
  QueryAnswer answer;
  if (doc.value("status", "") != "success") {
    answer.refused = true;
    answer.error_type = doc.value("errorType", "");
    answer.error = doc.value("error", "no error text");
    answer.plan_error = answer.error_type == "bad_data";
    return answer;
  }
  const auto& data = doc.value("data", nlohmann::json::object());
  auto type = data.value("resultType", "");
  const auto& result = data.value("result", nlohmann::json());
  if (type == "scalar") {
    auto s = sample_of(result, "{}");
    if (!s) return fail(s.error().message);
    answer.series.push_back(*s);
  } else if (type == "vector") {
    if (!result.is_array()) return fail("Prometheus' vector result is not a list");
    for (const auto& item : result) {
      auto s = sample_of(item.value("value", nlohmann::json()),
                         labels_text(item.value("metric", nlohmann::json::object())));
      if (!s) return fail(s.error().message);
      answer.series.push_back(*s);
    }
  } else if (type == "matrix" || type == "string") {
    answer.refused = answer.plan_error = true;
    answer.error = fmt::format(
        "the query gives a {} result; an instant vector or a scalar is needed "
        "(drop the range selector, or wrap it in rate() or avg_over_time())",
        type);
  } else {
    return fail(fmt::format("unknown resultType '{}' in Prometheus' answer", type));
  }
  return answer;
}

QueryVerdict judge_query(const std::vector<Series>& series, const Comparison& expect,
                         OnEmpty on_empty, PerSeries per_series) {
  QueryVerdict v;
  auto direction = fails_when(expect);
  const Series* worst = nullptr;
  size_t counted = 0, meeting = 0;
  for (const auto& s : series) {
    if (std::isnan(s.value)) continue;
    ++counted;
    bool meets = compare(s.value, expect);
    if (meets) ++meeting;
    bool worse = !worst || (direction == FailsWhen::Higher && s.value > worst->value) ||
                 (direction == FailsWhen::Lower && s.value < worst->value) ||
                 (direction == FailsWhen::Either && !meets && compare(worst->value, expect));
    if (worse) worst = &s;
  }
  if (counted == 0) {
    v.empty = true;
    v.ok = on_empty == OnEmpty::Pass;
    v.observed = series.empty() ? "no data" : "no data (NaN)";
    v.problem = "the query returned no data (on_empty: fail; a criterion must not pass on silence)";
    return v;
  }
  v.number = worst->value;
  auto one = [](const Series& s) {
    return s.labels == "{}" ? shown(s.value, s.text)
                            : fmt::format("{} {}", shown(s.value, s.text), s.labels);
  };
  v.ok = per_series == PerSeries::All ? meeting == counted : meeting > 0;
  v.observed = counted == 1 ? one(*worst)
                            : fmt::format("{} ({} of {} series meet {} {})", one(*worst), meeting,
                                          counted, expect.op, expect.operand);
  if (!v.ok) {
    v.problem = counted == 1
                    ? fmt::format("expected {} {}, got {}", expect.op, expect.operand, one(*worst))
                    : fmt::format("expected {} series {} {}, {} of {} do; worst {}",
                                  per_series == PerSeries::All ? "every" : "at least one",
                                  expect.op, expect.operand, meeting, counted, one(*worst));
  }
  return v;
}

Action prometheus_query_action() {
  Action a;
  a.name = "prometheus.query";
  a.summary = "a PromQL instant query held to `expect` (criterion probe or verify step; read-only)";
  a.params = {
      param("url")
          .required()
          .names(plan::Names::Url)
          .doc("Prometheus' base URL, such as http://prometheus:9090"),
      param("query").required().doc(
          "PromQL, run as an instant query (/api/v1/query); a ratio needs sum() on both sides"),
      param("expect").required().doc(
          "a comparison every series (per_series) must meet, such as <= 0.05"),
      param("on_empty")
          .choices({"fail", "pass"})
          .doc("when the query returns no data (or only NaN): fail (default) or pass"),
      param("per_series")
          .choices({"all", "any"})
          .doc("for several series: all must meet expect (default) or any one"),
      param("token").doc("a bearer token (a secret: ${secrets.NAME})"),
      param("user").doc("HTTP basic auth user, with password"),
      param("password").doc("HTTP basic auth password (a secret: ${secrets.NAME})"),
      param("timeout", ParamType::Duration)
          .doc("how long the query may take (default: the step's remaining time, else 30s)"),
      param("insecure", ParamType::Bool)
          .doc("skip TLS certificate and host name verification (default false)")};
  a.read_only = true;
  a.failure_changes_nothing = true;
  a.validate = validate_query;
  a.describe = [](const Params& p) {
    return fmt::format("query Prometheus at {}: {} (expect {})", where_of(p),
                       redact(p.str("query")), p.str("expect"));
  };
  a.preflight = preflight_query;
  a.run = run_query;
  return a;
}

}  // namespace rollback::actions::monitoring
