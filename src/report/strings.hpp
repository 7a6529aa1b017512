// The report's words in each language (en, es), and the pieces that markdown.cpp and
// json.cpp both derive from a record (follow-up actions, the outcome sentence).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <rollback/engine/run_record.hpp>

namespace rollback::report::detail {

// An action's phrase in one language (actions::Outcome::say): its id and its sentence.
struct Phrase {
  std::string_view id, text;
};

struct Strings {
  std::string_view title, date, operator_name, host, plan, kind, run_id, dry_run_banner;
  std::string_view rehearsal_title, rehearsal_kind, rehearsal_banner;
  std::string_view reason_heading, no_reason;
  std::string_view versions_heading, from_version, to_version, target, unknown;
  std::string_view procedure_heading;
  std::string_view st_ok, st_warning, st_failed, st_ignored, st_skipped, st_not_run, st_interrupted,
      st_described, st_running, attempts;
  std::string_view time_heading, start, end, total, budget, over_budget, within_budget, no_budget;
  std::string_view active_note, interruption, plan_changed;
  std::string_view state_heading, no_verify, state_ok, state_error;
  std::string_view outcome_heading, res_success, res_step_failed, res_verify_failed,
      res_interrupted, res_other, exit_code;
  std::string_view out_all_ok, out_dry_ok, out_dry_failed, out_failed, out_verify_failed, out_interrupted,
      out_not_run, out_ignored, out_fell_back;
  std::string_view follow_heading, fu_investigate, fu_undo, fu_resume, fu_verify, fu_none;
  std::string_view lessons_heading, lessons_placeholder;
  std::string_view logs_heading, no_logs;
  std::string_view contacts_heading, no_contacts;
  std::string_view checklist_heading;
  std::string_view in_parallel;
  std::string_view retention_heading, retention_kept, retention_pruned, retention_nothing, retention_beyond,
      retention_failed, why_newest_verifying, why_named_by_run, why_recent_pre_rollback;
  std::string_view offsite_heading, offsite_pushed, offsite_push_failed, offsite_downloaded,
      offsite_pruned;
  std::string_view phase_names[7];
  std::string_view kind_names[7];  // plan::Kind order
  std::string_view fallback_heading, fallback_first, fallback_times, fallback_why, fallback_note,
      fallback_procedure;
  std::string_view notify_heading, notify_sent, notify_failed, notify_skipped;
  // The console's own words (report/console.cpp): step results, the group line, the summary
  // and the report's path (the last line).
  std::string_view con_ok, con_warning, con_failed, con_ignored, con_skipped, con_dry_run,
      con_interrupted, con_not_run, con_running, con_in_parallel, con_dry_run_prefix,
      con_rehearsal_prefix, con_res_failed, con_res_verify_failed, con_res_interrupted,
      con_res_other, con_over_budget, con_budget, con_exit, con_report, con_rehearsal_proved,
      con_rehearsal_not_compared, con_rehearsal_failed;
  // Translations of actions' phrases; empty for English, whose phrases are the actions' own.
  std::span<const Phrase> phrases;
  std::string_view inc_heading, inc_began, inc_began_given, inc_fired, inc_symptoms, inc_symptom, inc_critical,
      inc_warning, inc_fired_mark, inc_first, inc_last, inc_worst, inc_action, inc_action_target, inc_logs,
      inc_no_logs;
};

const Strings& strings_for(std::string_view lang);

// Text on one line (line breaks become spaces), for list items and table cells.
std::string inline_text(std::string_view text);
// A code fence longer than any backtick run inside `text`, so log text cannot close it.
std::string fence_for(std::string_view text);

// Replaces "{}" placeholders in order: the tables hold whole sentences per language.
std::string fill(std::string_view pattern, const std::vector<std::string>& args);

std::string_view phase_label(const Strings& s, plan::Phase phase);
// A step's message in the language of `s`: the translation of the phrases its action said
// (data["phrases"]) when `s` has every one and the message still reads as they made it;
// otherwise the message as it is (English, as adapters and the engine write it).
std::string step_message(const Strings& s, const engine::StepRecord& step);
std::string status_label(const Strings& s, const engine::StepRecord& step);
std::string_view result_label(const Strings& s, ExitCode code);

// The incident log (record.extra["incident"], engine/run.hpp, note_incident): when the failure began, the
// symptoms, the action taken, the application's logs. Nothing when the run has none.
void incident_section(std::string& md, const Strings& s, const engine::RunRecord& record);
// The plans of the run, first to last ("coolify", "git-sql"), for the action taken.
std::vector<std::string> plans_of(const engine::RunRecord& record);

// The outcome sentence: result, which step failed, what state is left.
std::string outcome_sentence(const Strings& s, const engine::RunRecord& record);
// The plan's follow_up items, then automatic ones (investigate, resume, undo).
std::vector<std::string> follow_up_actions(const Strings& s, const engine::RunRecord& record);

// A `parallel:` group as the report shows it: one block of its phase, with the members'
// records at [first, end) and a summary record (status, start, end, wall time) of its own.
struct GroupView {
  std::string id, name;
  size_t first = 0, end = 0;
  engine::StepRecord summary;
};
// The group that starts at step `first` (its first member), or nullopt when that step is not
// the first member of a group.
std::optional<GroupView> group_at(const engine::RunRecord& record, size_t first);

// The time the run was actually running: from start to end, less the gaps between an
// interruption and its resume (a run resumed hours after a crash did not take hours).
Millis total_duration(const engine::RunRecord& record);
// From start to end, gaps included.
Millis wall_duration(const engine::RunRecord& record);

}  // namespace rollback::report::detail
