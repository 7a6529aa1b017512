// The `from: coolify` target source: an application's deployments as rollback targets.
#include <rollback/util/time.hpp>
#include <rollback/actions/coolify.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <rollback/plan/interpolate.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::coolify {
namespace {

// Coolify writes "2026-08-01T10:20:30.000000Z" (or "2026-08-01 10:20:30"): UTC.
std::chrono::system_clock::time_point parse_time(const std::string& text) {
  if (text.size() < 19) return {};
  std::string norm = text.substr(0, 19);
  norm[10] = 'T';
  return parse_iso_utc(norm + "Z").value_or(SystemTime{});
}

Action target_schema() {
  Action a;
  a.name = "target.coolify";
  a.params = with_api({param("application").required().names(plan::Names::Identifier)
                  .doc("the uuid of the application whose deployments are the targets"),
              param("insecure", ParamType::Bool).doc("skip TLS certificate and host name verification (default false)"),
              param("take", ParamType::Int).doc("how many of the newest deployments to list (default 50)")});
  return a;
}

}  // namespace

Result<std::vector<plan::Target>> list_from_spec(const plan::TargetSpec& spec, const plan::Scope& scope) {
  static const Action schema = target_schema();
  auto params = plan::resolve_params(spec.with, scope, schema.params);
  if (!params) return fail("target.with: " + params.error().message);
  ClientOptions o;
  o.url = params->str("url");
  o.token = params->str("token");
  o.insecure = params->flag("insecure", false);
  Client client(std::move(o));
  auto list = client.deployments(params->str("application"), static_cast<int>(params->integer("take", 50)));
  if (!list) return fail(redact(list.error().message), list.error().transient);
  auto current = current_of(*list);
  // Only what a rollback can use: finished deployments, one per commit (the newest), plus the
  // one running now. So `previous` is the newest good deployment with another commit, exactly
  // what coolify.rollback picks by default.
  std::vector<plan::Target> out;
  std::vector<std::string> commits;
  for (const auto& d : *list) {
    bool is_current = current && current->uuid == d.uuid;
    if (!is_current && d.status != "finished") continue;
    if (std::find(commits.begin(), commits.end(), d.commit) != commits.end()) continue;
    commits.push_back(d.commit);
    plan::Target t;
    t.name = d.uuid;
    t.detail = fmt::format("{} {}{}{}", d.commit.substr(0, 12), d.status, d.rollback ? " (rollback)" : "",
                           d.commit_message.empty() ? "" : " " + d.commit_message);
    t.created = parse_time(d.created_at);
    t.current = is_current;
    out.push_back(std::move(t));
  }
  // Newest first whatever order the API used; equal times keep the API's order.
  std::stable_sort(out.begin(), out.end(), [](const plan::Target& a, const plan::Target& b) { return a.created > b.created; });
  return out;
}

}  // namespace rollback::actions::coolify
