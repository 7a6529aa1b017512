#include <rollback/report/report.hpp>

#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::report {

std::filesystem::path json_twin(const std::filesystem::path& md_path) {
  auto twin = md_path;
  if (twin.extension() == ".md") twin.replace_extension(".json");
  else twin += ".json";
  return twin;
}

Result<std::filesystem::path> write_report(const engine::RunRecord& record,
                                           const std::filesystem::path& md_path) {
  // JSON first: a reader that finds the Markdown can rely on its twin being there.
  RB_TRY(write_file_atomic(json_twin(md_path), redact(render_json(record).dump(2) + "\n")));
  RB_TRY(write_file_atomic(md_path, redact(render_markdown(record))));
  return md_path;
}

Status append_section(const std::filesystem::path& md_path, const std::string& section, const std::string& key,
                      const nlohmann::json& value) {
  auto text = read_file(md_path);
  if (!text) return std::unexpected(text.error());
  RB_TRY(write_file_atomic(md_path, redact(*text + "\n" + section)));
  // The twin by the same rule the run wrote it with (json_twin): never a second guess.
  auto twin = json_twin(md_path);
  auto json_text = read_file(twin);
  if (!json_text) return ok();
  auto doc = nlohmann::json::parse(*json_text, nullptr, false);
  if (doc.is_discarded()) return ok();
  doc[key] = value;
  return write_file_atomic(twin, redact(doc.dump(2) + "\n"));
}

}  // namespace rollback::report
