// Finding plan files by name, and "did you mean" for every name a person can mistype.
#include <fmt/format.h>
#include <algorithm>
#include <set>

#include <rollback/plan/loader.hpp>

namespace rollback::plan {
namespace fs = std::filesystem;

namespace {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so
// "stpes" is one edit from "steps", as a person would count it.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

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

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return "";
  size_t limit = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    if (candidate == word) continue;
    size_t distance = edit_distance(word, candidate);
    // A distance as long as the word itself means nothing in common ("xy" -> "id").
    if (distance >= word.size() || distance >= candidate.size()) continue;
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
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
