// The report's incident log: the runbook's "Log de Incidente" (time of the failure, symptoms
// observed, action taken, relevant logs), from what `check --auto` or `--since` recorded.
#include <fmt/format.h>

#include <rollback/util/time.hpp>

#include "strings.hpp"

namespace rollback::report::detail {
namespace {

using nlohmann::json;

std::string incident_time(const json& iso) {
  auto t = iso.is_string() ? parse_iso_utc(iso.get<std::string>()) : std::nullopt;
  return t ? format_utc(*t, kHumanUtc) : std::string("-");
}

// One line, and short: a probe's message can carry a whole SQL error or response body.
// Cut in place at a character boundary (never inside a UTF-8 sequence). Assigning
// `text.substr(0, limit) + " …"` back to `text` made GCC 12 warn (-Wstringop-overread)
// about its own inlined string copy; the in-place cut also copies nothing.
std::string flat(std::string_view raw, size_t limit = 240) {
  auto text = inline_text(raw);
  if (text.size() <= limit) return text;
  while (limit > 0 && (static_cast<unsigned char>(text[limit]) & 0xC0) == 0x80) --limit;
  text.resize(limit);
  text += " …";
  return text;
}

std::string symptom_line(const Strings& s, const json& c) {
  std::string tags = std::string(c.value("critical", false) ? s.inc_critical : s.inc_warning);
  if (c.value("fired", false)) tags += ", " + std::string(s.inc_fired_mark);
  std::string line = fmt::format("**{}** ({}): {}", flat(c.value("name", "")), tags,
                                 fill(s.inc_symptom, {incident_time(c.value("failing_since", json())),
                                                      std::to_string(c.value("checks", 0))}));
  for (const auto& [key, label] : {std::pair{"first", s.inc_first}, {"last", s.inc_last}, {"worst", s.inc_worst}})
    if (auto v = c.value(key, std::string()); !v.empty()) line += fmt::format("; {}: {}", label, flat(v));
  return line;
}

}  // namespace

std::vector<std::string> plans_of(const engine::RunRecord& record) {
  std::vector<std::string> plans;
  for (const auto& first : record.fell_back_from) plans.push_back(first.plan_name);
  plans.push_back(record.plan_name);
  return plans;
}

void incident_section(std::string& md, const Strings& s, const engine::RunRecord& r) {
  auto it = r.extra.find("incident");
  if (it == r.extra.end() || !it->is_object()) return;
  const json& inc = *it;
  md += fmt::format("## {}\n", s.inc_heading);
  md += fmt::format("- **{}**: {}{}\n", s.inc_began, incident_time(inc.value("began", json())),
                    inc.value("given", "").empty() ? "" : fmt::format(" ({})", s.inc_began_given));
  std::string fired;
  for (const auto& name : inc.value("fired", json::array())) fired += (fired.empty() ? "" : "; ") + name.get<std::string>();
  if (!fired.empty()) md += fmt::format("- **{}**: {}\n", s.inc_fired, flat(fired));
  auto criteria = inc.value("criteria", json::array());
  if (!criteria.empty()) {
    md += fmt::format("- **{}**:\n", s.inc_symptoms);
    for (const auto& c : criteria) md += fmt::format("  - {}\n", symptom_line(s, c));
  }
  std::string plans;
  for (const auto& p : plans_of(r)) plans += (plans.empty() ? "" : " → ") + p;
  md += fmt::format("- **{}**: {}{}\n", s.inc_action, plans,
                    r.target_name.empty() ? "" : ", " + fill(s.inc_action_target, {r.target_name}));
  auto logs = inc.value("logs", json::object());
  auto excerpt = logs.value("excerpt", std::string());
  if (excerpt.empty()) {
    md += fmt::format("- **{}**: {}\n\n", s.inc_logs, fill(s.inc_no_logs, {flat(logs.value("problem", "-"))}));
    return;
  }
  excerpt = engine::bound_excerpt(excerpt, 80, 400);
  std::string fence = fence_for(excerpt);
  md += fmt::format("- **{}**: {}\n\n{}text\n{}{}{}\n\n", s.inc_logs, flat(logs.value("source", "")), fence,
                    excerpt, excerpt.ends_with('\n') ? "" : "\n", fence);
}

}  // namespace rollback::report::detail
