// Console progress for a run: one line per step ("[3/12] Restore volume ... ok (1.2s)"),
// a summary line, and the report's path as the very last line (scripts read it). Its words
// are the report's, in the plan's language (report.lang: en, es; strings.hpp).
// A parallel group prints one line when it starts ("[4-5/12] in parallel: A, B") and then
// each member's whole line when that member ends. Thread-safe: members report from their
// own threads, and every line is written whole under one lock, so lines never interleave.
#pragma once

#include <filesystem>
#include <mutex>
#include <ostream>
#include <vector>
#include <string>
#include <string_view>

#include <rollback/engine/run_record.hpp>

namespace rollback::report {

struct ConsoleOptions {
  bool quiet = false;    // -q: only failures, the summary and the report path
  bool verbose = false;  // -v: step log lines too
  bool color = false;    // see use_color()
  std::string lang = "en";  // the plan's report.lang: the language of the console's words
};

// True when `fd` is a terminal and NO_COLOR is unset (or empty).
bool use_color(int fd);

class ConsoleProgress {
 public:
  ConsoleProgress(std::ostream& out, ConsoleOptions options)
      : out_(out), options_(std::move(options)), lang_(options_.lang) {}

  // Signatures match engine::ExecuteOptions' callbacks.
  void step_started(const engine::StepRecord& step, size_t index, size_t total);
  void step_finished(const engine::StepRecord& step, size_t index, size_t total);
  void group_started(const std::vector<const engine::StepRecord*>& members, size_t first_index, size_t size,
                     size_t total);
  void log_line(const std::string& step_id, std::string_view line);  // shown with -v
  void note(std::string_view text);  // a line of the run's own (retention), unless -q
  void summary(const engine::RunRecord& record);
  void report_path(const std::filesystem::path& path);

 private:
  std::string paint(std::string_view text, const char* code) const;
  std::string result_text(const engine::StepRecord& step) const;
  std::string prefix(const engine::StepRecord& step, size_t index, size_t total) const;
  void break_open_line();

  std::ostream& out_;
  ConsoleOptions options_;
  std::mutex mutex_;        // one writer at a time; held for a whole line
  bool line_open_ = false;  // "[3/12] name ... " printed, result not yet
  std::string lang_;        // options_.lang, then the summarised record's (report_path follows it)
};

}  // namespace rollback::report
