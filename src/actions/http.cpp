// http.probe (read-only health checks, one URL or many in parallel) and http.request
// (a call that changes something, e.g. a maintenance switch). Failures say which URL, what
// was expected and what was seen; connection errors, timeouts, 429 and 5xx are transient so
// `retry: {until, every}` keeps waiting for a service that is still starting.
#include <rollback/actions/adapters.hpp>
#include <rollback/actions/http.hpp>
#include <rollback/util/comparison.hpp>

#include <regex>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>

namespace rollback::actions::http {
namespace {

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string json_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

struct Verdict {
  bool ok = true;
  bool transient = false;
  std::string problem;  // "expected status 200-399, got 500"
};

std::vector<Request> build_requests(const ActionContext& ctx, const Params& params,
                                    std::string default_method) {
  Request base;
  base.method = params.str("method", default_method);
  for (auto& c : base.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& [name, value] : params.map("headers")) base.headers.emplace_back(name, value);
  if (params.has("json")) {
    base.body = params.raw("json").dump();
    base.has_body = true;
    bool typed = std::any_of(base.headers.begin(), base.headers.end(), [](const auto& h) {
      return lower(h.first) == "content-type";
    });
    if (!typed) base.headers.emplace_back("Content-Type", "application/json");
  } else if (params.has("body")) {
    base.body = params.str("body");
    base.has_body = true;
  }
  // An explicit timeout (cut to the step's remaining time), else the step's remaining time,
  // else 30 s when the step has no deadline.
  Millis left = ctx.remaining(Millis(0));
  if (left.count() == 0) left = Millis(30'000);
  base.timeout = params.has("timeout") ? ctx.remaining(params.duration("timeout", left)) : left;
  base.insecure = params.flag("insecure", false);
  std::vector<std::string> urls = params.has("urls") ? params.list("urls") : params.list("url");
  std::vector<Request> out;
  for (auto& url : urls) {
    Request r = base;
    r.url = url;
    out.push_back(std::move(r));
  }
  return out;
}

Verdict judge(const Params& params, const std::vector<StatusRange>& statuses, const Response& r) {
  if (!r.transferred) {
    return {false, true, r.timed_out ? "no answer within the timeout (" + r.error + ")" : "no answer: " + r.error};
  }
  bool retryable = r.status >= 500 || r.status == 429;
  if (!std::any_of(statuses.begin(), statuses.end(), [&](const auto& s) { return s.contains(r.status); })) {
    return {false, retryable, fmt::format("expected status {}, got {}", describe_status(statuses), r.status)};
  }
  if (params.has("expect_body") && r.body.find(params.str("expect_body")) == std::string::npos) {
    return {false, false, fmt::format("expected the body to contain \"{}\"", redact(params.str("expect_body")))};
  }
  if (params.has("expect_body_regex")) {
    try {
      std::regex re(params.str("expect_body_regex"));
      // std::regex recurses per character: search a bounded prefix only.
      if (!std::regex_search(r.body.substr(0, 64 * 1024), re)) {
        return {false, false, fmt::format("expected the body to match /{}/", redact(params.str("expect_body_regex")))};
      }
    } catch (const std::regex_error& e) {
      return {false, false, fmt::format("`expect_body_regex` is not a valid regex: {}", e.what())};
    }
  }
  const auto& expect_json = params.raw("expect_json");
  if (expect_json.is_object()) {
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    if (doc.is_discarded()) return {false, false, "expected a JSON body, got something that does not parse"};
    for (const auto& [pointer, want] : expect_json.items()) {
      try {
        nlohmann::json::json_pointer ptr(pointer);
        if (!doc.contains(ptr)) return {false, false, fmt::format("expected JSON {} = {}, but it is absent", pointer, redact(json_text(want)))};
        // Compared as text: interpolated plan values arrive as strings ("42" == 42).
        if (json_text(doc.at(ptr)) != json_text(want)) {
          return {false, false, fmt::format("expected JSON {} = {}, got {}", pointer, redact(json_text(want)),
                                            redact(json_text(doc.at(ptr))))};
        }
      } catch (const nlohmann::json::exception& e) {
        return {false, false, fmt::format("`expect_json` key '{}' is not a JSON pointer: {}", pointer, e.what())};
      }
    }
  }
  if (params.has("max_latency")) {
    auto limit = params.duration("max_latency", Millis(0));
    if (r.latency > limit) {
      return {false, true, fmt::format("expected latency <= {}, took {}", format_duration(limit), format_duration(r.latency))};
    }
  }
  return {};
}

// `count`: how many items the array at a JSON pointer holds ("" = the body itself), the
// runbook's fetchInstances; checked against `expect_count` (">= ${instances_before}").
Result<long long> count_items(const Params& params, const Response& r) {
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded()) return fail("expected a JSON body to count in, got something that does not parse");
  auto pointer = params.str("count");
  try {
    nlohmann::json::json_pointer ptr(pointer);
    if (!doc.contains(ptr)) return fail(fmt::format("expected a JSON array at '{}' to count, but it is absent", pointer));
    const auto& at = doc.at(ptr);
    if (!at.is_array() && !at.is_object())
      return fail(fmt::format("expected a JSON array at '{}' to count, got {}", pointer, at.type_name()));
    return static_cast<long long>(at.size());
  } catch (const nlohmann::json::exception& e) {
    return fail(fmt::format("`count` '{}' is not a JSON pointer: {}", pointer, e.what()));
  }
}

Verdict judge_count(ActionContext& ctx, const Params& params, const Response& r, Outcome& out) {
  auto n = count_items(params, r);
  if (!n) return {false, false, n.error().message};
  out.observations.push_back({"count", std::to_string(*n), true});
  if (params.has("expect_count")) {
    auto expected = parse_comparison(params.str("expect_count"));
    if (!expected) return {false, false, "`expect_count`: " + expected.error().message};
    if (!compare(std::to_string(*n), *expected)) {
      out.observations.back().ok = false;
      std::string counted = params.str("count").empty() ? std::string("the count of the response's items")
                                                         : fmt::format("the count at '{}'", params.str("count"));
      return {false, false, fmt::format("expected {} {}, got {}", counted, params.str("expect_count"), *n)};
    }
  }
  if (params.has("into") && ctx.set_var) ctx.set_var(params.str("into"), std::to_string(*n));
  return {};
}

std::string seen(const Response& r) {
  if (!r.transferred) return fmt::format("after {}", format_duration(r.latency));
  std::string out = fmt::format("status {} in {}", r.status, format_duration(r.latency));
  if (!r.body.empty()) out += fmt::format("; body: \"{}\"", body_excerpt(r.body));
  return out;
}

Outcome perform(ActionContext& ctx, const Params& params, const char* default_method,
                const char* default_status) {
  auto statuses = parse_expect_status(params.has("expect_status") ? params.raw("expect_status")
                                                                  : nlohmann::json(default_status));
  if (!statuses) return Outcome::failure(statuses.error().message);
  auto requests = build_requests(ctx, params, default_method);
  if (requests.empty()) return Outcome::failure("no URL to request: set `url` (or `urls`)");
  std::vector<Response> responses;
  if (params.flag("parallel", false)) {
    responses = perform_all(requests);
  } else {
    for (const auto& r : requests) responses.push_back(perform_all({r}).front());
  }

  Outcome out;
  std::vector<std::string> failures;
  bool all_transient = true;
  Millis slowest{0};
  nlohmann::json details = nlohmann::json::array();
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    const auto& res = responses[i];
    auto verdict = judge(params, *statuses, res);
    if (verdict.ok && requests.size() == 1 && (params.has("count") || params.has("into")))
      verdict = judge_count(ctx, params, res, out);
    std::string url = redact(req.url);
    slowest = std::max(slowest, res.latency);
    details.push_back({{"url", url}, {"status", res.status}, {"latency_ms", res.latency.count()},
                       {"ok", verdict.ok}});
    if (!verdict.ok) {
      all_transient = all_transient && verdict.transient;
      failures.push_back(fmt::format("{} {}: {}; observed {}", req.method, url, verdict.problem, seen(res)));
    }
    // An unanswered request has no latency worth averaging: it counts as an error only.
    if (res.transferred)
      out.measurements.push_back({plan::Metric::LatencyMs, url, static_cast<double>(res.latency.count())});
    out.measurements.push_back({plan::Metric::Error, url, verdict.ok ? 0.0 : 1.0});
    if (requests.size() == 1) {
      out.observations.push_back({"status", res.transferred ? std::to_string(res.status) : "none", verdict.ok});
      out.observations.push_back({"latency", format_duration(res.latency), verdict.ok,
                                  static_cast<double>(res.latency.count()), Observation::Worse::Higher});
    }
  }
  if (requests.size() > 1) {
    out.observations.push_back({"healthy", fmt::format("{}/{}", requests.size() - failures.size(), requests.size()),
                                failures.empty()});
    out.observations.push_back({"latency", format_duration(slowest) + " (slowest)", failures.empty()});
  }
  out.data = {{"requests", details}};
  out.ok = failures.empty();
  if (out.ok) {
    out.message = requests.size() == 1
        ? fmt::format("{} {}: status {} in {}", requests[0].method, redact(requests[0].url), responses[0].status,
                      format_duration(responses[0].latency))
        : fmt::format("{} URLs answered as expected (slowest {})", requests.size(), format_duration(slowest));
    return out;
  }
  out.transient = all_transient;
  if (requests.size() == 1) {
    out.message = failures.front();
  } else {
    out.message = fmt::format("{} of {} URLs failed", failures.size(), requests.size());
    for (size_t i = 0; i < failures.size() && i < 5; ++i) out.message += "\n  " + failures[i];
    if (failures.size() > 5) out.message += fmt::format("\n  ... and {} more", failures.size() - 5);
  }
  out.message = redact(out.message);
  return out;
}

std::string describe(const Params& params, const char* default_method) {
  std::string method = params.str("method", default_method);
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string out = method + " ";
  if (params.has("urls")) {
    auto urls = params.list("urls");
    out += fmt::format("{} URLs{}:", urls.size(), params.flag("parallel") ? " in parallel" : "");
    for (size_t i = 0; i < urls.size() && i < 3; ++i) out += " " + redact(urls[i]);
    if (urls.size() > 3) out += " ...";
  } else {
    out += redact(params.str("url"));
  }
  auto headers = params.map("headers");
  if (!headers.empty()) {
    out += " (headers:";
    for (const auto& [name, value] : headers) {
      out += fmt::format(" {}: {}", name, sensitive_header(name) ? std::string(kRedacted) : redact(value));
    }
    out += ")";
  }
  return out;
}

void validate(ParamCheck& check) {
  if (check.has("url") == check.has("urls")) check.error_at_step("set exactly one of `url` and `urls`");
  if (check.has("json") && check.has("body")) check.error("json", "set `json` or `body`, not both");
  auto status = check.node("expect_status");
  if (status.IsDefined() && !status.IsNull() && status.IsScalar()) {
    if (auto lit = check.literal("expect_status")) {
      if (auto r = parse_expect_status(nlohmann::json(*lit)); !r) check.error("expect_status", r.error().message);
    }
  }
  if (auto re = check.literal("expect_body_regex")) {
    try {
      std::regex compiled(*re);
    } catch (const std::regex_error& e) {
      check.error("expect_body_regex", fmt::format("not a valid regular expression: {}", e.what()));
    }
  }
  if ((check.has("expect_count") || check.has("into")) && !check.has("count"))
    check.error(check.has("into") ? "into" : "expect_count", "`expect_count` and `into` need `count` (a JSON pointer to the array to count, \"\" for the body)");
  if (check.has("count") && check.has("urls")) check.error("count", "`count` needs a single `url`");
  if (auto e = check.literal("expect_count"); e && !parse_comparison(*e))
    check.error("expect_count", fmt::format("expect_count: expected a comparison such as \">= 1\", got \"{}\"", *e));
  auto json = check.node("expect_json");
  if (json.IsDefined() && !json.IsNull()) {
    if (!json.IsMap()) {
      check.error("expect_json", "`expect_json` must map JSON pointers (\"/status\") to values");
    } else {
      for (const auto& kv : json) {
        auto key = kv.first.as<std::string>();
        if (!key.empty() && key.front() != '/') {
          check.error("expect_json", fmt::format("'{}' is not a JSON pointer (write \"/{}\")", key, key));
        }
      }
    }
  }
}

std::vector<ParamSpec> common_params() {
  return {param("url").names(plan::Names::Url).doc("the URL to request (instead of urls)"),
          param("urls", ParamType::StringList).names(plan::Names::Url)
              .doc("several URLs, each requested and checked the same way (instead of url)"),
          param("method").doc("the HTTP method (default: GET for http.probe, POST for http.request)"),
          param("headers", ParamType::StringMap).doc("request headers, Name: value"),
          param("body").doc("the raw request body to send"),
          param("expect_status", ParamType::Any)
              .doc("accepted statuses: 200, 200-299, 2xx or a list (default: probe 200-399, request 200-299)"),
          param("timeout", ParamType::Duration)
              .doc("how long each request may take (default: the step's remaining time, else 30s)"),
          param("insecure", ParamType::Bool).doc("skip TLS certificate and host name verification (default false)")};
}

}  // namespace

Action probe_action() {
  Action a;
  a.name = "http.probe";
  a.summary = "check that URLs answer with the expected status, body, JSON and latency";
  a.params = common_params();
  for (auto p : {param("parallel", ParamType::Bool)
                     .doc("request all urls at once, not one after another (default false)"),
                 param("expect_body").doc("text the response body must contain"),
                 param("expect_body_regex").doc("a regex the response body (its first 64 KB) must match"),
                 param("expect_json", ParamType::Any)
                     .doc("maps JSON pointers to expected values, such as /status: ok; compared as text"),
                 param("max_latency", ParamType::Duration)
                     .doc("fail (transient) when a response takes longer than this"),
                 param("count")
                     .doc("a JSON pointer to the array in the body to count, '' for the body itself; one url only"),
                 param("expect_count").doc("a comparison the count must meet, such as >= 1"),
                 param("into").sets_var().doc("sets this var to the count")}) {
    a.params.push_back(p);
  }
  a.read_only = true;
  a.validate = validate;
  a.describe = [](const Params& p) { return "probe " + describe(p, "GET"); };
  a.run = [](ActionContext& ctx, const Params& p) { return perform(ctx, p, "GET", "200-399"); };
  a.rehearse = rehearse_urls;
  return a;
}

Action request_action() {
  Action a;
  a.name = "http.request";
  a.summary = "send an HTTP request (JSON or raw body) and check its status";
  a.params = common_params();
  a.params.push_back(param("json", ParamType::Any)
                         .doc("a JSON body, sent as application/json unless headers set a Content-Type"));
  a.rerun_safe = false;  // a POST may not be idempotent
  a.validate = validate;
  a.describe = [](const Params& p) { return "request " + describe(p, "POST"); };
  a.run = [](ActionContext& ctx, const Params& p) { return perform(ctx, p, "POST", "200-299"); };
  a.rehearse = rehearse_urls;
  return a;
}

}  // namespace rollback::actions::http

namespace rollback::actions {

void register_http_actions(Registry& registry) {
  registry.add(http::probe_action());
  registry.add(http::request_action());
}

}  // namespace rollback::actions
