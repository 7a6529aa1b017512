#include <rollback/report/console.hpp>

#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

#include <rollback/util/redact.hpp>

namespace rollback::report {
namespace {

constexpr const char* kGreen = "32";
constexpr const char* kRed = "31";
constexpr const char* kYellow = "33";
constexpr const char* kDim = "2";

std::string prefix(const engine::StepRecord& step, size_t index, size_t total) {
  return fmt::format("[{}/{}] {} ... ", index, total, step.name.empty() ? step.id : step.name);
}

std::string_view result_name(ExitCode code) {
  switch (code) {
    case ExitCode::Success: return "ok";
    case ExitCode::StepFailed: return "FAILED";
    case ExitCode::VerifyFailed: return "VERIFICATION FAILED";
    case ExitCode::Interrupted: return "INTERRUPTED";
    default: return "ERROR";
  }
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

std::string ConsoleProgress::result_text(const engine::StepRecord& step) const {
  using engine::StepStatus;
  std::string took = fmt::format(" ({})", format_duration(step.duration));
  switch (step.status) {
    case StepStatus::Ok:
      if (step.warning) return paint("ok, with a warning", kYellow) + took + ": " + step.message;
      // What a destructive step put in place (which dump, which archive) belongs on the screen,
      // not only in the report: it is the first thing asked after a rollback.
      if (step.destructive && !step.message.empty()) return paint("ok", kGreen) + took + ": " + step.message;
      return paint("ok", kGreen) + took;
    case StepStatus::Failed:
      if (step.failure_ignored)
        return paint("failed (ignored)", kYellow) + took + ": " + step.message;
      return paint("FAILED", kRed) + took + ": " + step.message;
    case StepStatus::Skipped: return paint("skipped", kDim);
    case StepStatus::Described: return paint("dry-run", kYellow) + ": " + step.message;
    case StepStatus::Interrupted: return paint("INTERRUPTED", kRed) + took;
    case StepStatus::Pending: return paint("not run", kDim);
    case StepStatus::Running: return "running";
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
  out_ << redact(fmt::format("[{}/{}] {}in parallel: {}", span, total, label.empty() ? "" : label + ", ", names))
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
  Millis total{0};
  if (record.ended)
    total = std::chrono::duration_cast<Millis>(*record.ended - record.started);
  std::string budget;
  if (record.budget)
    budget = total > *record.budget
                 ? fmt::format(", OVER the {} budget", format_duration(*record.budget))
                 : fmt::format(", budget {}", format_duration(*record.budget));
  const char* color = record.result == ExitCode::Success ? kGreen : kRed;
  out_ << redact(fmt::format("{}{}: {} ({}{}, exit {})", record.dry_run ? "dry run " : record.rehearsal ? "rehearsal " : "",
                             paint(result_name(record.result), color), record.result_message,
                             format_duration(total), budget, to_int(record.result)))
       << "\n" << std::flush;
}

void ConsoleProgress::report_path(const std::filesystem::path& path) {
  std::lock_guard lock(mutex_);
  break_open_line();
  out_ << "report: " << path.string() << "\n" << std::flush;
}

}  // namespace rollback::report
