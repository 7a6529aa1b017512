#include <rollback/report/report.hpp>

#include <fmt/format.h>

#include <rollback/plan/offsite.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/redact.hpp>

#include "strings.hpp"

namespace rollback::report {
namespace detail {

std::string inline_text(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

std::string fence_for(std::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

}  // namespace detail

namespace {

using detail::fence_for;
using detail::fill;
using detail::inline_text;
using detail::Strings;
using engine::RunRecord;
using engine::StepRecord;
using engine::StepStatus;

void header(std::string& md, const Strings& s, const RunRecord& r) {
  std::string title = !r.report.title.empty() ? r.report.title : r.title;
  auto heading = r.rehearsal ? s.rehearsal_title : s.title;
  md += title.empty() ? fmt::format("# {}\n\n", heading) : fmt::format("# {}: {}\n\n", heading, title);
  md += fmt::format("**{}**: {}  \n", s.date, format_utc(engine::run_began(r), kHumanUtc));
  md += fmt::format("**{}**: {}  \n", s.operator_name, r.operator_name.empty() ? std::string(s.unknown) : r.operator_name);
  std::string kind(s.kind_names[static_cast<int>(r.kind)]);
  md += fmt::format("**{}**: {}  \n", s.kind, r.rehearsal ? fill(s.rehearsal_kind, {kind}) : kind);
  std::string plans;
  for (const auto& first : r.fell_back_from) plans += first.plan_name + " → ";
  md += fmt::format("**{}**: {}{}{}{}  \n", s.plan, plans, r.plan_name,
                    r.plan_path.empty() ? "" : fmt::format(" (`{}`)", r.plan_path),
                    r.plan_sha256.empty() ? "" : fmt::format(", sha256 `{}`", r.plan_sha256.substr(0, 12)));
  if (!r.host.empty()) md += fmt::format("**{}**: {}  \n", s.host, r.host);
  md += fmt::format("**{}**: `{}`\n\n", s.run_id, r.run_id);
  if (r.dry_run) md += fmt::format("> {}\n\n", s.dry_run_banner);
  if (r.rehearsal) md += fmt::format("> {}\n\n", fill(s.rehearsal_banner, {"rollback.rehearsal=" + r.run_id}));

  md += fmt::format("## {}\n{}\n\n", s.reason_heading, r.reason.empty() ? std::string(s.no_reason) : r.reason);

  auto or_unknown = [&](const std::string& v) { return v.empty() ? std::string(s.unknown) : v; };
  md += fmt::format("## {}\n", s.versions_heading);
  md += fmt::format("- **{}**: {}\n", s.from_version, or_unknown(r.from_version));
  md += fmt::format("- **{}**: {}\n", s.to_version, or_unknown(r.to_version.empty() ? r.target_name : r.to_version));
  if (!r.target_name.empty())
    md += fmt::format("- **{}**: {}{}\n", s.target, r.target_name,
                      r.target_path.empty() ? "" : fmt::format(" (`{}`)", r.target_path));
  md += "\n";
}

std::string step_line(const Strings& s, const StepRecord& step) {
  bool done = step.status == StepStatus::Ok;
  std::string line = fmt::format("[{}] {} (`{}`): **{}**", done ? 'x' : ' ', inline_text(step.name), step.id,
                                 detail::status_label(s, step));
  if (step.started && step.status != StepStatus::Pending && step.status != StepStatus::Skipped)
    line += fmt::format(", {}", format_duration(step.duration));
  if (step.attempts > 1) line += fmt::format(", {} {}", step.attempts, s.attempts);
  if (auto message = detail::step_message(s, step); !message.empty()) line += fmt::format(": {}", inline_text(message));
  return line;
}

void procedure_steps(std::string& md, const Strings& s, const RunRecord& r) {
  std::optional<plan::Phase> current;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& step = r.steps[i];
    if (!current || *current != step.phase) {
      current = step.phase;
      md += fmt::format("\n### {}\n", detail::phase_label(s, step.phase));
    }
    // A parallel group: one line for the group (its wall time), its members under it.
    if (auto group = detail::group_at(r, i)) {
      auto summary = group->summary;
      summary.name = group->name.empty() ? std::string(s.in_parallel) : fmt::format("{}: {}", s.in_parallel, group->name);
      summary.message.clear();
      md += fmt::format("- {}\n", step_line(s, summary));
    }
    md += fmt::format("{}- {}\n", step.group.empty() ? "" : "  ", step_line(s, step));
  }
  md += "\n";
}

void procedure(std::string& md, const Strings& s, const RunRecord& r) {
  md += fmt::format("## {}\n", r.fell_back_from.empty() ? std::string(s.procedure_heading)
                                                         : fill(s.fallback_procedure, {r.plan_name}));
  procedure_steps(md, s, r);
}

// The plan that ran first and handed over (plan `fallback:`): its result, why it handed
// over, and its own procedure; the fallback's procedure follows as the run's.
void fallback(std::string& md, const Strings& s, const RunRecord& r) {
  for (const auto& first : r.fell_back_from) {
    md += fmt::format("## {}\n", s.fallback_heading);
    md += fill(s.fallback_first, {first.plan_name, std::string(detail::result_label(s, first.result)),
                                  std::string(s.exit_code), std::to_string(to_int(first.result)),
                                  inline_text(first.result_message)});
    if (first.ended)
      md += "\n\n" + fill(s.fallback_times, {format_utc(first.started, kClockUtc), format_utc(*first.ended, kClockUtc),
                                          format_duration(detail::total_duration(first))});
    md += "\n\n" + fill(s.fallback_why, {r.plan_name, inline_text(first.handed_over)}) + "\n\n";
    if (!r.fallback_note.empty()) md += "> " + fill(s.fallback_note, {inline_text(r.fallback_note)}) + "\n\n";
    md += fmt::format("### {}\n", fill(s.fallback_procedure, {first.plan_name}));
    procedure_steps(md, s, first);
  }
}

void notifications(std::string& md, const Strings& s, const RunRecord& r) {
  if (r.notifications.empty()) return;
  md += fmt::format("## {}\n", s.notify_heading);
  for (const auto& sent : r.notifications) {
    bool delivered = sent.status == StepStatus::Ok && sent.data.value("delivered", true);
    auto verdict = sent.status == StepStatus::Skipped ? s.notify_skipped : delivered ? s.notify_sent : s.notify_failed;
    md += fmt::format("- `{}`: **{}**: {}\n", sent.action, verdict, inline_text(sent.message));
  }
  md += "\n";
}

// What a backup run pruned (RunRecord::extra["retention"], written by the pipeline).
void retention(std::string& md, const Strings& s, const RunRecord& r) {
  auto it = r.extra.find("retention");
  if (it == r.extra.end() || !it->is_object()) return;
  const auto& ret = *it;
  auto names = [](const nlohmann::json& list, auto describe) {
    std::string text;
    if (list.is_array())
      for (const auto& item : list) text += (text.empty() ? "" : ", ") + describe(item);
    return text;
  };
  md += fmt::format("## {}\n", s.retention_heading);
  md += fmt::format("- {}\n", fill(s.retention_kept, {std::to_string(ret.value("keep", 0)), ret.value("glob", ""),
                                                     ret.value("dir", "")}));
  auto pruned = names(ret.value("pruned", nlohmann::json::array()),
                      [](const nlohmann::json& t) { return fmt::format("`{}`", t.get<std::string>()); });
  md += fmt::format("- {}\n", pruned.empty() ? std::string(s.retention_nothing) : fill(s.retention_pruned, {pruned}));
  auto why = [&](const std::string& code) {
    return std::string(code == "newest_verifying" ? s.why_newest_verifying
                       : code == "named_by_run"   ? s.why_named_by_run
                                                  : s.why_recent_pre_rollback);
  };
  auto beyond = names(ret.value("kept_beyond", nlohmann::json::array()), [&](const nlohmann::json& t) {
    return fmt::format("`{}` ({})", t.value("name", ""), why(t.value("why", "")));
  });
  if (!beyond.empty()) md += fmt::format("- {}\n", fill(s.retention_beyond, {beyond}));
  for (const auto& problem : ret.value("problems", nlohmann::json::array()))
    md += fmt::format("- {}\n", fill(s.retention_failed, {problem.value("name", ""), problem.value("error", "")}));
  md += "\n";
}

// Where the backup's off-host copy went, or where the restored target came down from
// (RunRecord::extra "offsite", "offsite_retention" and "offsite_download").
void offsite(std::string& md, const Strings& s, const RunRecord& r) {
  auto pushed = r.extra.find("offsite");
  auto pruned = r.extra.find("offsite_retention");
  auto fetched = r.extra.find("offsite_download");
  bool any = (pushed != r.extra.end() && pushed->is_object()) ||
             (fetched != r.extra.end() && fetched->is_object());
  if (!any) return;
  md += fmt::format("## {}\n", s.offsite_heading);
  if (pushed != r.extra.end() && pushed->is_object()) {
    const auto& p = *pushed;
    if (p.value("ok", false))
      md += fmt::format(
          "- {}\n",
          fill(s.offsite_pushed, {plan::offsite_path(p.value("remote", ""), p.value("name", "")),
                                  std::to_string(p.value("files", 0)),
                                  human_size(p.value("bytes", 0ULL)), p.value("checked", "")}));
    else
      md += fmt::format("- {}\n", fill(s.offsite_push_failed, {inline_text(p.value("error", ""))}));
  }
  if (pruned != r.extra.end() && pruned->is_object()) {
    std::string names;
    for (const auto& n : pruned->value("pruned", nlohmann::json::array()))
      names += (names.empty() ? "`" : ", `") + n.get<std::string>() + "`";
    md += fmt::format("- {}\n", fill(s.offsite_pruned,
                                     {std::to_string(pruned->value("keep", 0)),
                                      names.empty() ? std::string(s.retention_nothing) : names}));
  }
  if (fetched != r.extra.end() && fetched->is_object()) {
    const auto& f = *fetched;
    md += fmt::format(
        "- {}\n",
        fill(s.offsite_downloaded,
             {f.value("name", ""), f.value("from", ""), std::to_string(f.value("files", 0)),
              human_size(f.value("bytes", 0ULL)),
              format_duration(Millis(static_cast<long long>(f.value("seconds", 0.0) * 1000))),
              f.value("kept_at", "")}));
  }
  md += "\n";
}

void timing(std::string& md, const Strings& s, const RunRecord& r) {
  md += fmt::format("## {}\n", s.time_heading);
  md += fmt::format("- **{}**: {}\n", s.start, format_utc(r.started, kClockUtc));
  md += fmt::format("- **{}**: {}\n", s.end, r.ended ? format_utc(*r.ended, kClockUtc) : "-");
  Millis total = detail::total_duration(r);
  std::string budget;
  if (!r.budget) budget = std::string(s.no_budget);
  else if (total > *r.budget)
    budget = fmt::format("{} {}: **{}**", s.budget, format_duration(*r.budget),
                         fill(s.over_budget, {format_duration(total - *r.budget)}));
  else budget = fmt::format("{} {}: {}", s.budget, format_duration(*r.budget), s.within_budget);
  if (!r.resumptions.empty())
    budget = fmt::format("{}; {}", fill(s.active_note, {format_duration(detail::wall_duration(r))}), budget);
  md += fmt::format("- **{}**: {} ({})\n", s.total, format_duration(total), budget);
  for (const auto& resumed : r.resumptions) {
    md += fmt::format("- {}\n", fill(s.interruption, {format_utc(resumed.interrupted, kHumanUtc),
                                                     format_utc(resumed.resumed, kHumanUtc)}));
    if (!resumed.plan_sha256.empty())
      md += fmt::format("  - {}\n", fill(s.plan_changed, {r.plan_sha256.substr(0, 12), resumed.plan_sha256.substr(0, 12)}));
  }
  md += "\n";
}

void post_state(std::string& md, const Strings& s, const RunRecord& r) {
  md += fmt::format("## {}\n", s.state_heading);
  bool any = false;
  for (const auto& step : r.steps) {
    if (step.phase != plan::Phase::Verify || step.status == StepStatus::Pending) continue;
    any = true;
    bool good = step.status == StepStatus::Ok;
    std::string verdict = step.status == StepStatus::Ok || step.status == StepStatus::Failed
                              ? std::string(good ? s.state_ok : s.state_error)
                              : detail::status_label(s, step);
    md += fmt::format("- **{}**: {}", inline_text(step.name), verdict);
    if (auto message = detail::step_message(s, step); !message.empty()) md += fmt::format(" ({})", inline_text(message));
    md += "\n";
    for (const auto& o : step.observations)
      md += fmt::format("  - {}: {} [{}]\n", inline_text(o.name), inline_text(o.value),
                        o.ok ? s.state_ok : s.state_error);
  }
  if (!any) md += fmt::format("{}\n", s.no_verify);
  md += "\n";
}

void outcome_and_follow_up(std::string& md, const Strings& s, const RunRecord& r) {
  md += fmt::format("## {}\n**{}** ({} {}). {}\n\n", s.outcome_heading,
                    detail::result_label(s, r.result), s.exit_code, to_int(r.result),
                    detail::outcome_sentence(s, r));
  md += fmt::format("## {}\n", s.follow_heading);
  auto items = detail::follow_up_actions(s, r);
  if (items.empty()) md += fmt::format("1. {}\n", s.fu_none);
  for (size_t i = 0; i < items.size(); ++i) md += fmt::format("{}. {}\n", i + 1, inline_text(items[i]));
  md += fmt::format("\n## {}\n{}\n\n", s.lessons_heading, s.lessons_placeholder);
}

void tail_sections(std::string& md, const Strings& s, const RunRecord& r) {
  md += fmt::format("## {}\n", s.logs_heading);
  bool any = false;
  for (const auto& step : r.steps) {
    if (step.log_excerpt.empty()) continue;
    any = true;
    std::string excerpt = engine::bound_excerpt(step.log_excerpt);
    std::string fence = fence_for(excerpt);
    md += fmt::format("\n**{}** (`{}`):\n{}text\n{}{}\n", inline_text(step.name), step.id, fence,
                      excerpt, fence);
  }
  if (!any) md += fmt::format("{}\n", s.no_logs);
  md += fmt::format("\n## {}\n", s.contacts_heading);
  if (r.report.contacts.empty()) md += fmt::format("- {}\n", s.no_contacts);
  for (const auto& c : r.report.contacts) md += fmt::format("- {}\n", inline_text(c));
  if (!r.report.checklist.empty()) {
    md += fmt::format("\n## {}\n", s.checklist_heading);
    for (const auto& item : r.report.checklist) md += fmt::format("- [ ] {}\n", inline_text(item));
  }
}

}  // namespace

std::string render_markdown(const RunRecord& record) {
  const Strings& s = detail::strings_for(record.report.lang);
  std::string md;
  header(md, s, record);
  detail::incident_section(md, s, record);
  fallback(md, s, record);
  procedure(md, s, record);
  timing(md, s, record);
  retention(md, s, record);
  offsite(md, s, record);
  post_state(md, s, record);
  outcome_and_follow_up(md, s, record);
  notifications(md, s, record);
  tail_sections(md, s, record);
  return redact(md);
}

}  // namespace rollback::report
