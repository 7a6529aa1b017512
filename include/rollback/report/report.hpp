// The incident report: Markdown in the shape of the runbook's template (English or
// Spanish) and its JSON twin. Both are written atomically and redacted.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include <rollback/engine/run_record.hpp>
#include <rollback/util/result.hpp>

namespace rollback::report {

std::string render_markdown(const engine::RunRecord& record);

// The result in a few English words for one-line messages (notifications): "succeeded",
// "step failed", "stopped at preflight, nothing changed", "verification failed"...
std::string_view result_word(ExitCode code);
nlohmann::json render_json(const engine::RunRecord& record);

// The JSON twin of a Markdown path: "report.md" -> "report.json", "x" -> "x.json".
std::filesystem::path json_twin(const std::filesystem::path& md_path);

// Writes <md_path> and its twin (same name, .json). Returns the Markdown path.
Result<std::filesystem::path> write_report(const engine::RunRecord& record,
                                           const std::filesystem::path& md_path);

}  // namespace rollback::report
