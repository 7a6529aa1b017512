#include <rollback/report/console.hpp>

#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

#include <rollback/util/redact.hpp>

#include "strings.hpp"

namespace rollback::report {
namespace {

constexpr const char* kGreen = "32";
constexpr const char* kRed = "31";
constexpr const char* kYellow = "33";
constexpr const char* kDim = "2";

using detail::fill;
using detail::Strings;

std::string_view result_name(const Strings& s, ExitCode code) {
  switch (code) {
    case ExitCode::Success: return s.con_ok;
    case ExitCode::StepFailed: return s.con_res_failed;
    case ExitCode::VerifyFailed: return s.con_res_verify_failed;
    case ExitCode::Interrupted: return s.con_res_interrupted;
    default: return s.con_res_other;
  }
}

// The summary's sentence. English says the executor's own (record.result_message, with the
// detail the CLI and the engine wrote). Another language says the report's outcome sentence
// when the steps decided the result (a rehearsal's: proved, or failed and why), and
// otherwise the record's message as it is (a target that did not resolve, a preflight
// failure, nothing to rehearse: the CLI's words, in English).
std::string outcome_text(const Strings& s, const engine::RunRecord& record) {
  if (s.phrases.empty()) return record.result_message;
  bool by_steps = !record.steps.empty() &&
                  (record.result == ExitCode::Success || record.result == ExitCode::StepFailed ||
                   record.result == ExitCode::VerifyFailed || record.result == ExitCode::Interrupted);
  if (!by_steps) return record.result_message;
  if (!record.rehearsal) return detail::outcome_sentence(s, record);
  if (record.result != ExitCode::Success)
    return fill(s.con_rehearsal_failed, {record.target_name, detail::outcome_sentence(s, record)});
  size_t restores = 0, verifies = 0;
  std::string not_compared;  // verify steps skipped: they compare with values read from production
  if (auto it = record.extra.find("rehearsal"); it != record.extra.end() && it->is_object()) {
    restores = it->value("restore_steps_rehearsed", size_t{0});
    if (auto skipped = it->find("skipped_production_comparisons");
        skipped != it->end() && skipped->is_array())
      for (const auto& id : *skipped)
        not_compared += (not_compared.empty() ? "" : ", ") + id.get<std::string>();
  }
  for (const auto& step : record.steps)
    verifies += step.phase == plan::Phase::Verify && step.status == engine::StepStatus::Ok ? 1 : 0;
  return fill(s.con_rehearsal_proved,
              {record.target_name, std::to_string(restores), std::to_string(verifies),
               not_compared.empty() ? "" : fill(s.con_rehearsal_not_compared, {not_compared})});
}

}  // namespace

bool use_color(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return ::isatty(fd) == 1;
}

std::string ConsoleProgress::paint(std::string_view text, const char* code) const {
  if (!options_.color) return std::string(text);
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

std::string ConsoleProgress::prefix(const engine::StepRecord& step, size_t index, size_t total) const {
  return fmt::format("[{}/{}] {} ... ", index, total, step.name.empty() ? step.id : step.name);
}

std::string ConsoleProgress::result_text(const engine::StepRecord& step) const {
  using engine::StepStatus;
  const Strings& s = detail::strings_for(options_.lang);
  std::string took = fmt::format(" ({})", format_duration(step.duration));
  std::string message = detail::step_message(s, step);
  switch (step.status) {
    case StepStatus::Ok:
      if (step.warning) return paint(s.con_warning, kYellow) + took + ": " + message;
      // What a destructive step put in place (which dump, which archive) belongs on the screen,
      // not only in the report: it is the first thing asked after a rollback.
      if (step.destructive && !message.empty()) return paint(s.con_ok, kGreen) + took + ": " + message;
      return paint(s.con_ok, kGreen) + took;
    case StepStatus::Failed:
      if (step.failure_ignored) return paint(s.con_ignored, kYellow) + took + ": " + message;
      return paint(s.con_failed, kRed) + took + ": " + message;
    case StepStatus::Skipped: return paint(s.con_skipped, kDim);
    case StepStatus::Described: return paint(s.con_dry_run, kYellow) + ": " + message;
    case StepStatus::Interrupted: return paint(s.con_interrupted, kRed) + took;
    case StepStatus::Pending: return paint(s.con_not_run, kDim);
    case StepStatus::Running: return std::string(s.con_running);
  }
  return "";
}

void ConsoleProgress::break_open_line() {
  if (!line_open_) return;
  out_ << "\n";
  line_open_ = false;
}

void ConsoleProgress::step_started(const engine::StepRecord& step, size_t index, size_t total) {
  if (options_.quiet) return;
  // A group member's line is written whole when it ends: its siblings end in between.
  if (!step.group.empty()) return;
  std::lock_guard lock(mutex_);
  break_open_line();
  out_ << redact(prefix(step, index, total)) << std::flush;
  line_open_ = true;
}

void ConsoleProgress::step_finished(const engine::StepRecord& step, size_t index, size_t total) {
  bool failure = step.status == engine::StepStatus::Failed ||
                 step.status == engine::StepStatus::Interrupted;
  if (options_.quiet && !failure) return;
  std::lock_guard lock(mutex_);
  if (!step.group.empty()) break_open_line();  // a member never continues another's line
  // Continue the open line when nothing was printed since it started; else repeat it.
  if (!line_open_) out_ << redact(prefix(step, index, total));
  out_ << redact(result_text(step)) << "\n" << std::flush;
  line_open_ = false;
}

void ConsoleProgress::group_started(const std::vector<const engine::StepRecord*>& members, size_t first_index,
                                    size_t size, size_t total) {
  if (options_.quiet || members.empty()) return;
  std::string names;
  for (const auto* member : members)
    names += (names.empty() ? "" : ", ") + (member->name.empty() ? member->id : member->name);
  const std::string& label = members.front()->group_name;
  std::lock_guard lock(mutex_);
  break_open_line();
  std::string span = size > 1 ? fmt::format("{}-{}", first_index, first_index + size - 1) : fmt::format("{}", first_index);
  const Strings& s = detail::strings_for(options_.lang);
  out_ << redact(fmt::format("[{}/{}] {}{}", span, total, label.empty() ? "" : label + ", ",
                             fill(s.con_in_parallel, {names})))
       << "\n" << std::flush;
}

void ConsoleProgress::log_line(const std::string& step_id, std::string_view line) {
  if (!options_.verbose || options_.quiet) return;
  std::lock_guard lock(mutex_);
  break_open_line();
  out_ << paint(redact(fmt::format("    {}: {}", step_id, line)), kDim) << "\n" << std::flush;
}

void ConsoleProgress::note(std::string_view text) {
  if (options_.quiet) return;
  std::lock_guard lock(mutex_);
  break_open_line();
  out_ << redact(text) << "\n" << std::flush;
}

void ConsoleProgress::summary(const engine::RunRecord& record) {
  std::lock_guard lock(mutex_);
  break_open_line();
  lang_ = record.report.lang;
  const Strings& s = detail::strings_for(lang_);
  Millis total{0};
  if (record.ended)
    total = std::chrono::duration_cast<Millis>(*record.ended - record.started);
  std::string budget;
  if (record.budget)
    budget = fill(total > *record.budget ? s.con_over_budget : s.con_budget, {format_duration(*record.budget)});
  const char* color = record.result == ExitCode::Success ? kGreen : kRed;
  std::string_view kind = record.dry_run ? s.con_dry_run_prefix : record.rehearsal ? s.con_rehearsal_prefix : "";
  out_ << redact(fmt::format("{}{}: {} ({}{}, {})", kind, paint(result_name(s, record.result), color),
                             outcome_text(s, record), format_duration(total), budget,
                             fill(s.con_exit, {std::to_string(to_int(record.result))})))
       << "\n" << std::flush;
}

void ConsoleProgress::report_path(const std::filesystem::path& path) {
  std::lock_guard lock(mutex_);
  break_open_line();
  out_ << fill(detail::strings_for(lang_).con_report, {path.string()}) << "\n" << std::flush;
}

}  // namespace rollback::report
