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

nlohmann::json render_json(const engine::RunRecord& record);

// The JSON twin of a Markdown path: "report.md" -> "report.json", "x" -> "x.json".
std::filesystem::path json_twin(const std::filesystem::path& md_path);

// Appends `section` to the Markdown report and sets `key` to `value` in its JSON twin (found
// by json_twin, the rule write_report used). A missing or unreadable twin is left alone.
Status append_section(const std::filesystem::path& md_path, const std::string& section, const std::string& key,
                      const nlohmann::json& value);

// Writes <md_path> and its twin (json_twin). Returns the Markdown path.
Result<std::filesystem::path> write_report(const engine::RunRecord& record,
                                           const std::filesystem::path& md_path);

}  // namespace rollback::report
