// The targets table (include/rollback/cli/target_table.hpp).
#include <rollback/cli/target_table.hpp>

#include <fmt/format.h>

#include <algorithm>

#include <rollback/actions/action.hpp>
#include <rollback/engine/target_catalog.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/time.hpp>

namespace rollback::cli {
namespace {

std::string size_text(std::optional<unsigned long long> bytes) { return bytes ? rollback::human_size(*bytes) : "-"; }

std::string age_text(std::chrono::system_clock::time_point created) {
  if (created == std::chrono::system_clock::time_point{}) return "-";
  auto age = std::chrono::duration_cast<Millis>(std::chrono::system_clock::now() - created);
  long long s = age.count() / 1000;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

std::string detail_of(const TargetRow& row) {
  const auto& t = row.target;
  std::string detail = t.current ? "(current) " + t.detail : t.detail;
  if (!row.check.ok && !row.check.problems.empty())
    detail += (detail.empty() ? "" : "; ") + row.check.problems.front() +
              (row.check.problems.size() > 1 ? fmt::format(" (+{} more)", row.check.problems.size() - 1) : "");
  std::string fate;
  if (row.pruned_by_next_backup) fate = fmt::format("PRUNED by the next backup (keep {})", row.keep);
  else if (!row.kept_beyond.empty()) fate = fmt::format("kept beyond keep {}: {}", row.keep, row.kept_beyond);
  if (!fate.empty()) detail = fate + (detail.empty() ? "" : "; ") + detail;
  return redact(detail);
}

}  // namespace

Result<std::vector<TargetRow>> target_rows(const plan::Plan& plan, const plan::Scope& base,
                                           const std::map<std::string, std::string>& overrides,
                                           const std::set<std::string>& needed, std::string* offsite_problem) {
  engine::TargetCatalog catalog(plan, actions::builtin_registry().targets(), overrides);
  auto listed = catalog.rows(base, needed);
  if (!listed) return std::unexpected(listed.error());
  if (offsite_problem) *offsite_problem = catalog.offsite_problem();
  return table_rows(plan, std::move(*listed));
}

std::vector<TargetRow> table_rows(const plan::Plan& plan, std::vector<engine::CatalogRow> listed) {
  std::vector<TargetRow> rows;
  for (auto& r : listed)
    rows.push_back({.target = std::move(r.target), .check = std::move(r.check), .incomplete = r.incomplete,
                    .keep = plan.target.keep.value_or(0), .pruned_by_next_backup = r.pruned_by_next_backup,
                    .kept_beyond = r.kept_beyond, .location = r.location});
  return rows;
}

// A plan with offsite: gets a WHERE column (local, offsite, both); an off-host-only target
// is proved when a run downloads it, so its VERIFIES says so.
void print_target_table(std::FILE* out, const std::vector<TargetRow>& rows, bool numbered) {
  if (rows.empty()) return;
  bool where = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return !r.location.empty(); });
  if (numbered) std::fprintf(out, "%3s  ", "#");
  std::fprintf(out, "%-36s %-6s %-9s %s%-9s %s\n", "TARGET", "AGE", "SIZE", where ? "WHERE    " : "", "VERIFIES",
               "DETAIL");
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto& t = row.target;
    if (numbered) std::fprintf(out, "%3zu  ", i + 1);
    std::string verifies = row.incomplete               ? "INCOMPLETE"
                           : row.location == "offsite" ? "on fetch"
                           : row.check.ok              ? "yes"
                                                       : "NO";
    std::string location = where ? fmt::format("{:<9}", row.location) : "";
    std::fprintf(out, "%-36s %-6s %-9s %s%-9s %s\n", t.name.c_str(), age_text(t.created).c_str(),
                 size_text(t.size_bytes).c_str(), location.c_str(), verifies.c_str(), detail_of(row).c_str());
  }
}

nlohmann::json target_rows_json(const std::vector<TargetRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : rows) {
    const auto& t = row.target;
    std::vector<std::string> problems;
    for (const auto& p : row.check.problems) problems.push_back(redact(p));
    nlohmann::json item = {{"name", t.name}, {"path", t.path}, {"age", age_text(t.created)},
                           {"size_bytes", t.size_bytes ? nlohmann::json(*t.size_bytes) : nlohmann::json()},
                           {"verifies", row.check.ok}, {"incomplete", row.incomplete}, {"problems", problems}, {"current", t.current},
                           {"detail", redact(t.detail)}, {"pruned_by_next_backup", row.pruned_by_next_backup},
                           {"kept_beyond", row.kept_beyond.empty() ? nlohmann::json() : nlohmann::json(row.kept_beyond)},
                           {"private", row.is_private}};
    if (!t.commit.empty()) item["commit"] = t.commit;
    if (!row.location.empty()) item["location"] = row.location;
    if (t.created != std::chrono::system_clock::time_point{}) item["created"] = format_iso_utc(t.created);
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace rollback::cli
