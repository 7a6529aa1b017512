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

}  // namespace rollback::report
