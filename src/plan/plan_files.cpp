// Finding plan files by name.
#include <fmt/format.h>
#include <algorithm>
#include <set>

#include <rollback/plan/loader.hpp>
#include <rollback/util/text.hpp>

namespace rollback::plan {
namespace fs = std::filesystem;

namespace {

bool is_plan_file(const fs::path& path) {
  auto ext = path.extension();
  return ext == ".yaml" || ext == ".yml";
}

std::vector<std::string> plan_names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& path : list_plan_files(dir)) names.insert(path.stem());
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<fs::path> list_plan_files(const fs::path& plans_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(plans_dir, ec), end; !ec && it != end; it.increment(ec))
    if (is_plan_file(it->path()) && it->is_regular_file(ec)) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

Result<fs::path> find_plan(const std::string& name_or_path, const fs::path& plans_dir) {
  if (name_or_path.empty()) return fail("no plan named: give a plan name or a path to a .yaml");
  std::error_code ec;
  if (name_or_path.find('/') != std::string::npos || is_plan_file(name_or_path)) {
    fs::path path(name_or_path);
    if (!fs::exists(path, ec))
      return fail(fmt::format("plan file {} does not exist", name_or_path));
    if (fs::is_directory(path, ec))
      return fail(fmt::format("{} is a directory, not a plan file", name_or_path));
    return path;
  }
  for (const char* ext : {".yaml", ".yml"}) {
    fs::path candidate = plans_dir / (name_or_path + ext);
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  if (!fs::is_directory(plans_dir, ec))
    return fail(
        fmt::format("no plan '{}': the plans dir {} does not exist (set --plans-dir or "
                    "$ROLLBACK_PLANS)",
                    name_or_path, plans_dir.string()));
  auto names = plan_names(plans_dir);
  if (names.empty())
    return fail(
        fmt::format("no plan '{}': {} has no .yaml plans", name_or_path, plans_dir.string()));
  auto best = did_you_mean(name_or_path, names);
  std::string available;
  for (const auto& name : names) available += (available.empty() ? "" : ", ") + name;
  return fail(fmt::format("no plan '{}' in {}{}; available: {}", name_or_path, plans_dir.string(),
                          best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best),
                          available));
}

}  // namespace rollback::plan
