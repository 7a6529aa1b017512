// Finding plan files by name along the plan search path (the first dir holding a name wins,
// as /etc overrides /usr/share for a packaged program).
#include <fmt/format.h>
#include <algorithm>
#include <map>

#include <rollback/plan/loader.hpp>
#include <rollback/util/text.hpp>

namespace rollback::plan {
namespace fs = std::filesystem;

namespace {

bool is_plan_file(const fs::path& path) {
  auto ext = path.extension();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace

std::string search_path_text(const std::vector<fs::path>& search_path) {
  std::string out;
  for (const auto& dir : search_path) out += (out.empty() ? "" : ", ") + dir.string();
  return out;
}

std::vector<fs::path> list_plan_files(const std::vector<fs::path>& search_path) {
  std::map<std::string, fs::path> by_name;  // sorted by name; an earlier dir's plan wins
  for (const auto& dir : search_path) {
    std::vector<fs::path> here;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (is_plan_file(it->path()) && it->is_regular_file(ec)) here.push_back(it->path());
    std::sort(here.begin(), here.end());  // full.yaml before full.yml, as find_plan tries them
    for (const auto& path : here) by_name.try_emplace(path.stem().string(), path);
  }
  std::vector<fs::path> files;
  for (auto& [name, path] : by_name) files.push_back(std::move(path));
  return files;
}

std::vector<fs::path> list_plan_files(const fs::path& plans_dir) {
  return list_plan_files(std::vector<fs::path>{plans_dir});
}

Result<fs::path> find_plan(const std::string& name_or_path, const std::vector<fs::path>& search_path) {
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
  for (const auto& dir : search_path)
    for (const char* ext : {".yaml", ".yml"}) {
      fs::path candidate = dir / (name_or_path + ext);
      if (fs::is_regular_file(candidate, ec)) return candidate;
    }
  bool any_dir = std::any_of(search_path.begin(), search_path.end(),
                             [&](const fs::path& dir) { return fs::is_directory(dir, ec); });
  if (!any_dir) {
    std::string where = search_path.size() == 1
                            ? fmt::format("the plans dir {} does not exist", search_path[0].string())
                            : fmt::format("none of the plan dirs exists ({})", search_path_text(search_path));
    return fail(fmt::format("no plan '{}': {} (set --plans-dir or $ROLLBACK_PLANS)", name_or_path, where));
  }
  std::vector<std::string> names;
  for (const auto& path : list_plan_files(search_path)) names.push_back(path.stem().string());
  if (names.empty())
    return fail(fmt::format("no plan '{}': {} has no .yaml plans", name_or_path, search_path_text(search_path)));
  auto best = did_you_mean(name_or_path, names);
  std::string available;
  for (const auto& name : names) available += (available.empty() ? "" : ", ") + name;
  return fail(fmt::format("no plan '{}' in {}{}; available: {}", name_or_path, search_path_text(search_path),
                          best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best), available));
}

Result<fs::path> find_plan(const std::string& name_or_path, const fs::path& plans_dir) {
  return find_plan(name_or_path, std::vector<fs::path>{plans_dir});
}

}  // namespace rollback::plan
