// What prometheus.query and alertmanager.alerts share: the request to a monitoring API
// (base URL, auth, timeout) and their registration.
#include <rollback/actions/adapters.hpp>
#include <rollback/actions/monitoring.hpp>

namespace rollback::actions::monitoring {

http::Request monitoring_request(const ActionContext& ctx, const Params& params,
                                 std::string_view path_and_query) {
  http::Request r;
  auto base = params.str("url");
  while (!base.empty() && base.back() == '/') base.pop_back();
  r.url = base + std::string(path_and_query);
  r.headers.emplace_back("Accept", "application/json");
  // Secrets travel in a header or curl's auth options, never in the URL that messages show.
  if (params.has("token")) r.headers.emplace_back("Authorization", "Bearer " + params.str("token"));
  if (params.has("user")) {
    r.user = params.str("user");
    r.password = params.str("password");
  }
  Millis left = ctx.remaining(Millis(0));
  if (left.count() == 0) left = Millis(30'000);
  r.timeout = params.has("timeout") ? ctx.remaining(params.duration("timeout", left)) : left;
  r.insecure = params.flag("insecure", false);
  return r;
}

}  // namespace rollback::actions::monitoring

namespace rollback::actions {

void register_monitoring_actions(Registry& registry) {
  registry.add(monitoring::prometheus_query_action());
  registry.add(monitoring::alertmanager_alerts_action());
}

}  // namespace rollback::actions
