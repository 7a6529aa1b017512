#include <fmt/format.h>

#include "strings.hpp"

namespace rollback::report::detail {
namespace {

using engine::StepRecord;
using engine::StepStatus;

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && (text.back() == '.' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Millis wall_duration(const engine::RunRecord& record) {
  if (!record.ended) return Millis(0);
  return std::chrono::duration_cast<Millis>(*record.ended - record.started);
}

Millis total_duration(const engine::RunRecord& record) {
  Millis total = wall_duration(record);
  for (const auto& r : record.resumptions)
    if (r.resumed > r.interrupted) total -= std::chrono::duration_cast<Millis>(r.resumed - r.interrupted);
  return std::max(total, Millis(0));
}


std::optional<GroupView> group_at(const engine::RunRecord& record, size_t first) {
  const auto& steps = record.steps;
  if (first >= steps.size() || steps[first].group.empty()) return std::nullopt;
  if (first > 0 && steps[first - 1].group == steps[first].group) return std::nullopt;
  GroupView view{steps[first].group, steps[first].group_name, first, first, {}};
  while (view.end < steps.size() && steps[view.end].group == view.id) ++view.end;
  // The group's status is its worst member's: interrupted, failed, still running, ignored
  // failure, not run, described, then ok.
  auto rank = [](const StepRecord& s) {
    switch (s.status) {
      case StepStatus::Interrupted: return 7;
      case StepStatus::Failed: return s.failure_ignored ? 4 : 6;
      case StepStatus::Running: return 5;
      case StepStatus::Pending: return 3;
      case StepStatus::Described: return 2;
      case StepStatus::Ok: return s.warning ? 1 : 0;
      case StepStatus::Skipped: return 0;
    }
    return 0;
  };
  StepRecord& sum = view.summary;
  sum.id = view.id;
  sum.name = view.name;
  sum.phase = steps[first].phase;
  sum.status = StepStatus::Skipped;
  bool all_skipped = true;
  for (size_t i = first; i < view.end; ++i) {
    const StepRecord& member = steps[i];
    all_skipped = all_skipped && member.status == StepStatus::Skipped;
    if (rank(member) > rank(sum) || (sum.status == StepStatus::Skipped && member.status == StepStatus::Ok)) {
      sum.status = member.status;
      sum.failure_ignored = member.failure_ignored;
      sum.warning = member.warning;
    }
    if (member.started && (!sum.started || *member.started < *sum.started)) sum.started = member.started;
    if (member.ended && (!sum.ended || *member.ended > *sum.ended)) sum.ended = member.ended;
  }
  if (all_skipped) sum.status = StepStatus::Skipped;
  if (sum.started && sum.ended) sum.duration = std::chrono::duration_cast<Millis>(*sum.ended - *sum.started);
  return view;
}

std::string outcome_sentence(const Strings& s, const engine::RunRecord& record) {
  // The engine decided which step failed (RunRecord::failing_step); never a rule of our own.
  const StepRecord* culprit = engine::failing_step_of(record);
  std::vector<std::string> not_run, ignored;
  for (const auto& step : record.steps) {
    if (step.status == StepStatus::Pending) not_run.push_back(step.id);
    if (step.failure_ignored) ignored.push_back(step.id);
  }
  std::string out;
  // After a fallback the first plan's failure leads: the run as a whole did not simply succeed.
  for (const auto& first : record.fell_back_from)
    out += fill(s.out_fell_back, {first.plan_name, one_line(first.result_message), record.plan_name});
  if (culprit && culprit->status == StepStatus::Interrupted) {
    out += fill(s.out_interrupted, {culprit->id, culprit->name, record.run_id});
  } else if (culprit) {
    auto pattern = record.dry_run ? s.out_dry_failed
                   : record.result == ExitCode::VerifyFailed ? s.out_verify_failed : s.out_failed;
    out += fill(pattern, {culprit->id, culprit->name, one_line(culprit->message)});
  } else if (record.result != ExitCode::Success) {
    // Stopped before any step decided it (the lock, preflight, preempted at its start): the
    // record's own words, never "every step succeeded".
    out += one_line(record.result_message);
  } else {
    out += std::string(record.dry_run ? s.out_dry_ok : s.out_all_ok);
  }
  auto join = [](const std::vector<std::string>& ids) {
    std::string text;
    for (const auto& id : ids) text += (text.empty() ? "" : ", ") + id;
    return text;
  };
  if (!not_run.empty())
    out += " " + fill(s.out_not_run, {std::to_string(not_run.size()), join(not_run)});
  if (!ignored.empty())
    out += " " + fill(s.out_ignored, {std::to_string(ignored.size()), join(ignored)});
  return out;
}

std::vector<std::string> follow_up_actions(const Strings& s, const engine::RunRecord& record) {
  std::vector<std::string> out = record.report.follow_up;
  for (const auto& step : record.steps)
    if (step.status == StepStatus::Failed)
      out.push_back(fill(s.fu_investigate, {step.id, step.name, one_line(step.message)}));
  if (record.result == ExitCode::VerifyFailed) out.push_back(std::string(s.fu_verify));
  if (record.result == ExitCode::Interrupted) out.push_back(fill(s.fu_resume, {record.run_id}));
  // Plans that snapshot the current state first set `pre_rollback_target`: the way back.
  if (auto it = record.vars.find("pre_rollback_target");
      it != record.vars.end() && !it->second.empty() && !record.dry_run)
    out.push_back(fill(s.fu_undo, {it->second}));
  return out;
}

}  // namespace rollback::report::detail

namespace rollback::report {


}  // namespace rollback::report
