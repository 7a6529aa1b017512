// Criteria from the monitoring a team already runs: prometheus.query (a PromQL instant query
// held to `expect`) and alertmanager.alerts (healthy while no active, unsilenced alert
// matches). Both go through the http client (libcurl); the parsing and judging below are
// pure, exposed for unit tests.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rollback/actions/action.hpp>
#include <rollback/actions/http.hpp>
#include <rollback/util/comparison.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions::monitoring {

// One series of an instant query's answer: its labels as PromQL writes them
// ({code="500",job="api"}; {} for a scalar) and its value (NaN, +Inf kept as such).
struct Series {
  std::string labels;
  double value = 0;
  std::string text;  // the value as Prometheus wrote it ("0.73", "NaN")
};

// What /api/v1/query answered. A refusal (status "error") is not a parse failure: it
// carries Prometheus' own errorType and error text, which the caller names.
struct QueryAnswer {
  bool refused = false;
  std::string error_type;  // "bad_data" for PromQL that does not parse
  std::string error;
  // The query itself is wrong, whatever the service's state: Prometheus' bad_data, or a
  // range (matrix) or string result where a number is needed.
  bool plan_error = false;
  std::vector<Series> series;  // vector and scalar results
};
Result<QueryAnswer> parse_query_answer(std::string_view body);

enum class OnEmpty { Fail, Pass };
enum class PerSeries { All, Any };

// The query's series held to `expect`: NaN samples (a ratio of 0/0: no traffic) count as
// no data, so `on_empty` decides for them. `number` is the worst value by `expect`'s
// direction, for the incident log's first / worst / last.
struct QueryVerdict {
  bool ok = false;
  bool empty = false;            // no series with a number
  std::string observed;          // "0.73 {job=\"api\"}", "no data", "2 of 3 series ..."
  std::optional<double> number;  // the worst series' value
  std::string problem;           // why not ok, without the query (the caller adds it)
};
QueryVerdict judge_query(const std::vector<Series>& series, const Comparison& expect,
                         OnEmpty on_empty, PerSeries per_series);

// One alert from /api/v2/alerts, reduced to what a criterion reports.
struct Alert {
  std::string name;    // its alertname label
  std::string labels;  // {env="staging",severity="page"}, alertname excluded
  std::string starts_at;
  std::optional<std::chrono::system_clock::time_point> started;
  std::string state;  // active | suppressed | unprocessed
};
Result<std::vector<Alert>> parse_alerts(std::string_view body);

// `matchers`: 'alertname="WebhookErrors", env="staging"' (or a list of them) split into
// Alertmanager's own matcher syntax, one per `filter=`; an ill-formed one is an error.
Result<std::vector<std::string>> split_matchers(const nlohmann::json& matchers);

// The request both actions send: base URL + path, auth from `token` or `user`/`password`,
// the step's remaining time or `timeout`.
http::Request monitoring_request(const ActionContext& ctx, const Params& params,
                                 std::string_view path_and_query);

// The actions, assembled by register_monitoring_actions.
Action prometheus_query_action();     // src/actions/prometheus_query.cpp
Action alertmanager_alerts_action();  // src/actions/alertmanager_alerts.cpp

}  // namespace rollback::actions::monitoring
