#include <rollback/report/report.hpp>

#include <rollback/util/redact.hpp>

#include "strings.hpp"

namespace rollback::report {

// The same data as the Markdown, for scripts: times ISO-8601 UTC, durations in ms, words
// in English whatever the report's language.
nlohmann::json render_json(const engine::RunRecord& r) {
  const auto& en = detail::strings_for("en");
  using nlohmann::json;
  Millis total = detail::total_duration(r);
  json steps = json::array();
  json post = json::array();
  for (const auto& step : r.steps) {
    steps.push_back(engine::step_to_json(step));
    if (step.phase != plan::Phase::Verify || step.status == engine::StepStatus::Pending) continue;
    json obs = json::array();
    for (const auto& o : step.observations)
      obs.push_back({{"name", o.name}, {"value", o.value}, {"ok", o.ok}});
    post.push_back({{"step", step.id},
                    {"name", step.name},
                    {"status", std::string(engine::to_string(step.status))},
                    {"ok", step.status == engine::StepStatus::Ok},
                    {"message", step.message},
                    {"observations", std::move(obs)}});
  }
  // Each parallel group once: its members (in plan order) and its wall time.
  json groups = json::array();
  for (size_t i = 0; i < r.steps.size(); ++i) {
    auto group = detail::group_at(r, i);
    if (!group) continue;
    json members = json::array();
    for (size_t m = group->first; m < group->end; ++m) members.push_back(r.steps[m].id);
    const auto& sum = group->summary;
    groups.push_back({{"id", group->id},
                      {"name", group->name},
                      {"phase", std::string(plan::to_string(sum.phase))},
                      {"status", std::string(engine::to_string(sum.status))},
                      {"started", sum.started ? json(format_iso_utc(*sum.started)) : json()},
                      {"ended", sum.ended ? json(format_iso_utc(*sum.ended)) : json()},
                      {"duration_ms", sum.duration.count()},
                      {"steps", std::move(members)}});
  }
  json resumptions = json::array();
  for (const auto& resumed : r.resumptions) {
    json item = {{"interrupted", format_iso_utc(resumed.interrupted)}, {"resumed", format_iso_utc(resumed.resumed)}};
    if (!resumed.plan_sha256.empty()) item["plan_sha256"] = resumed.plan_sha256;
    resumptions.push_back(std::move(item));
  }
  json j = {
      {"schema_version", 1},
      {"run_id", r.run_id},
      {"title", !r.report.title.empty() ? r.report.title : r.title},
      {"plan",
       {{"name", r.plan_name}, {"path", r.plan_path}, {"kind", std::string(plan::to_string(r.kind))},
        {"sha256", r.plan_sha256}}},
      {"operator", r.operator_name},
      {"host", r.host},
      {"reason", r.reason},
      {"dry_run", r.dry_run},
      {"kind", r.rehearsal ? "rehearsal" : r.dry_run ? "dry-run" : "rollback"},
      {"lang", r.report.lang},
      {"from_version", r.from_version},
      {"to_version", r.to_version.empty() ? r.target_name : r.to_version},
      {"target", {{"name", r.target_name}, {"path", r.target_path}}},
      {"started", format_iso_utc(r.started)},
      {"ended", r.ended ? json(format_iso_utc(*r.ended)) : json()},
      {"duration_ms", total.count()},
      {"wall_ms", detail::wall_duration(r).count()},
      {"resumptions", resumptions},
      {"budget_ms", r.budget ? json(r.budget->count()) : json()},
      {"over_budget", r.budget && r.ended && total > *r.budget},
      {"result",
       {{"exit_code", to_int(r.result)},
        {"name", std::string(detail::result_label(en, r.result))},
        {"message", r.result_message},
        {"outcome", detail::outcome_sentence(en, r)}}},
      {"steps", std::move(steps)},
      {"groups", std::move(groups)},
      {"post_rollback", std::move(post)},
      {"follow_up", detail::follow_up_actions(en, r)},
      {"lessons_learned", nullptr},
      {"contacts", r.report.contacts},
      {"checklist", r.report.checklist},
      {"vars", r.vars},
      {"extra", r.extra},
  };
  // A run that fell back: the first plan, its result, why it handed over, its steps.
  j["fallback"] = nullptr;
  for (const auto& first : r.fell_back_from) {
    json first_steps = json::array();
    for (const auto& step : first.steps) first_steps.push_back(engine::step_to_json(step));
    j["fallback"] = {{"from", {{"plan", first.plan_name},
                               {"path", first.plan_path},
                               {"target", first.target_name},
                               {"started", format_iso_utc(first.started)},
                               {"ended", first.ended ? json(format_iso_utc(*first.ended)) : json()},
                               {"result", {{"exit_code", to_int(first.result)},
                                           {"name", std::string(detail::result_label(en, first.result))},
                                           {"message", first.result_message}}},
                               {"steps", std::move(first_steps)}}},
                     {"to", r.plan_name},
                     {"why", first.handed_over},
                     {"note", r.fallback_note}};
  }
  // The incident log (engine/run.hpp, note_incident), with the action taken beside what was recorded.
  j["incident"] = nullptr;
  if (auto it = r.extra.find("incident"); it != r.extra.end() && it->is_object()) {
    j["incident"] = *it;
    j["incident"]["action"] = {{"plans", detail::plans_of(r)}, {"target", r.target_name}};
  }
  json notifications = json::array();
  for (const auto& sent : r.notifications) notifications.push_back(engine::step_to_json(sent));
  j["notifications"] = std::move(notifications);
  // Redact the serialized form: a secret may sit in any string of any depth.
  auto clean = json::parse(redact(j.dump()), nullptr, false);
  return clean.is_discarded() ? j : clean;
}

}  // namespace rollback::report
