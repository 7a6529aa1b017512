// `from: dir` targets: backup folders (or archives) in one directory, and their checks.
#include "target_dir.hpp"

#include <fmt/format.h>
#include <fnmatch.h>
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <sstream>

#include <rollback/util/archive.hpp>
#include <rollback/util/fs.hpp>

namespace rollback::plan::detail {
namespace fs = std::filesystem;

namespace {

std::chrono::system_clock::time_point to_system(fs::file_time_type time) {
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::file_clock::to_sys(time));
}

unsigned long long size_of(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    auto size = fs::file_size(path, ec);
    return ec ? 0 : size;
  }
  unsigned long long total = 0;
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    std::error_code file_ec;
    if (it->is_regular_file(file_ec) && !it->is_symlink(file_ec)) {
      auto size = it->file_size(file_ec);
      if (!file_ec) total += size;
    }
  }
  return total;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool is_hex_digest(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

// A listed name must stay inside the target: "../x" or "/etc/x" would check another file.
bool is_inside(const std::string& name) {
  if (name.empty() || name.starts_with("/")) return false;
  for (const auto& part : fs::path(name))
    if (part == "..") return false;
  return true;
}

// One listed file against its expected digest; `source` is "SHA256SUMS" or "manifest.json".
void check_digest(const fs::path& root, const std::string& source, const std::string& name,
                  const std::string& expected, std::vector<std::string>& problems) {
  if (!is_inside(name)) {
    problems.push_back(fmt::format("{}: '{}' points outside the target", source, name));
    return;
  }
  std::error_code ec;
  fs::path file = root / name;
  if (!fs::exists(file, ec)) {
    problems.push_back(fmt::format("{}: {} is listed but missing", source, name));
    return;
  }
  std::string broken;
  auto actual = digest_proving(file, broken);  // an archive is proved whole in the same pass
  if (!actual) {
    problems.push_back(fmt::format("{}: {}: {}", source, name, actual.error().message));
    return;
  }
  if (*actual != lower(expected))
    problems.push_back(fmt::format("{}: {} differs (expected sha256 {}..., got {}...)", source,
                                   name, lower(expected).substr(0, 12), actual->substr(0, 12)));
  else if (!broken.empty())
    problems.push_back(fmt::format("{}: {} matches its checksum but does not read: {}", source, name, broken));
}

void verify_sums(const fs::path& root, std::vector<std::string>& problems) {
  auto text = read_file(root / "SHA256SUMS");
  if (!text) {
    problems.push_back(fmt::format("SHA256SUMS: {}", text.error().message));
    return;
  }
  std::istringstream lines(*text);
  std::string line;
  int number = 0;
  int listed = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.starts_with("#")) continue;
    // sha256sum writes "<digest>  <name>" (text mode) or "<digest> *<name>" (binary mode).
    if (line.size() < 67 || !is_hex_digest(line.substr(0, 64)) || line[64] != ' ' ||
        (line[65] != ' ' && line[65] != '*')) {
      problems.push_back(fmt::format("SHA256SUMS line {}: expected '<sha256>  <file>', got '{}'",
                                     number, line.substr(0, 80)));
      continue;
    }
    ++listed;
    check_digest(root, "SHA256SUMS", line.substr(66), line.substr(0, 64), problems);
  }
  if (listed == 0) problems.push_back("SHA256SUMS lists no files (an empty or truncated backup?)");
}

void verify_manifest(const fs::path& root, std::vector<std::string>& problems) {
  auto text = read_file(root / "manifest.json");
  if (!text) {
    problems.push_back(fmt::format("manifest.json: {}", text.error().message));
    return;
  }
  auto manifest = nlohmann::json::parse(*text, nullptr, false);
  if (manifest.is_discarded()) {
    problems.push_back("manifest.json: not valid JSON");
    return;
  }
  // "images" (what `backup` recorded each service running) is the docker adapter's to check
  // (a TargetCheck); "files" is checked here.
  bool has_files = manifest.is_object() && manifest.contains("files");
  bool has_images = manifest.is_object() && manifest.contains("images") && manifest["images"].is_object();
  if (!manifest.is_object() || (!has_files && !has_images) || (has_files && !manifest["files"].is_object())) {
    problems.push_back("manifest.json: expected {\"files\": {\"<name>\": \"<sha256>\"}} and/or {\"images\": {...}}");
    return;
  }
  if (!has_files) return;
  for (const auto& [name, digest] : manifest["files"].items()) {
    if (!digest.is_string() || !is_hex_digest(digest.get<std::string>())) {
      problems.push_back(fmt::format("manifest.json: {}: expected a sha256 hex digest", name));
      continue;
    }
    check_digest(root, "manifest.json", name, digest.get<std::string>(), problems);
  }
}

}  // namespace

Result<std::vector<Target>> list_dir_targets(const TargetSpec& spec, const Scope& scope) {
  if (spec.dir.empty()) return fail("target: from: dir needs 'dir' (where the targets are)");
  auto dir = interpolate(spec.dir, scope);
  if (!dir) return fail(fmt::format("target.dir: {}", dir.error().message));
  auto glob = interpolate(spec.glob, scope);
  if (!glob) return fail(fmt::format("target.glob: {}", glob.error().message));
  std::error_code ec;
  if (!fs::is_directory(*dir, ec))
    return fail(fmt::format("target dir {} does not exist or is not a directory{}", *dir,
                            *dir == spec.dir ? "" : fmt::format(" (target.dir: {})", spec.dir)));
  std::vector<Target> targets;
  fs::directory_iterator it(*dir, ec);
  if (ec) return fail(fmt::format("cannot list target dir {}: {}", *dir, ec.message()));
  for (fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return fail(fmt::format("cannot list target dir {}: {}", *dir, ec.message()));
    std::string name = it->path().filename().string();
    // FNM_PERIOD: "*" does not pick up hidden entries such as a half-written ".tmp" folder.
    if (::fnmatch(glob->c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
    std::error_code time_ec;
    auto mtime = fs::last_write_time(it->path(), time_ec);
    if (time_ec) continue;  // a dangling symlink is no target
    // A folder's own mtime moves whenever a file in it is added or removed (an archive
    // deleted by hand, a restore's scratch file), which would make an old target "latest".
    // Its seal is written once, when the backup ends.
    for (const char* seal : {"SHA256SUMS", "manifest.json"}) {
      std::error_code seal_ec;
      auto sealed = fs::last_write_time(it->path() / seal, seal_ec);
      if (!seal_ec) {
        mtime = sealed;
        break;
      }
    }
    Target target;
    target.name = name;
    target.path = it->path().string();
    target.created = to_system(mtime);
    target.size_bytes = size_of(it->path());
    targets.push_back(std::move(target));
  }
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) {
    if (a.created != b.created) return a.created > b.created;
    return a.name > b.name;
  });
  return targets;
}

std::vector<std::string> verify_dir_target(const TargetSpec& spec, const Target& target,
                                           const Scope& scope) {
  std::vector<std::string> problems;
  fs::path root(target.path);
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    problems.push_back(fmt::format("target {} no longer exists ({})", target.name, target.path));
    return problems;
  }
  if (!fs::is_directory(root, ec)) {
    if (!spec.require.empty())
      problems.push_back(
          fmt::format("target {} is a file, but the plan requires paths inside a "
                      "folder",
                      target.name));
    return problems;
  }
  for (const auto& required : spec.require) {
    auto path = interpolate(required, scope);
    if (!path) {
      problems.push_back(fmt::format("require '{}': {}", required, path.error().message));
      continue;
    }
    if (!fs::exists(root / *path, ec) && !archive_under_another_name(root / *path))
      problems.push_back(fmt::format("missing {}", *path));
  }
  if (fs::exists(root / "SHA256SUMS", ec)) verify_sums(root, problems);
  if (fs::exists(root / "manifest.json", ec)) verify_manifest(root, problems);
  return problems;
}

bool archive_under_another_name(const fs::path& wanted) {
  // A target made before the switch to .tar.zst, or by the runbook's own `tar czf`.
  if (!compression_from_name(wanted.filename().string())) return false;
  std::error_code ec;
  for (const auto& name : archive_name_candidates(wanted.filename().string()))
    if (fs::exists(wanted.parent_path() / name, ec)) return true;
  return false;
}

}  // namespace rollback::plan::detail
