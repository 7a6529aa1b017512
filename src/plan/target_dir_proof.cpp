// The proof of what a `from: dir` target lists (target_dir.hpp): SHA256SUMS and manifest.json
// entries, each a regular file inside the target whose digest matches (an archive proved
// whole in the same pass), and every tar archive no list covered.
#include "target_dir.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include <rollback/util/archive.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/regular_file.hpp>

namespace rollback::plan::detail {
namespace fs = std::filesystem;

namespace {

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
  if (!fs::exists(fs::symlink_status(file, ec))) {
    problems.push_back(fmt::format("{}: {} is listed but missing", source, name));
    return;
  }
  // Only a regular file inside the target is read: a FIFO or a link to /dev/zero never ends.
  if (auto regular = open_regular_inside(root, name); !regular) {
    problems.push_back(fmt::format("{}: {}", source, regular.error().message));
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

}  // namespace

void verify_sums(const fs::path& root, std::vector<std::string>& problems, std::set<std::string>& listed_names) {
  auto text = read_regular_inside(root, "SHA256SUMS");
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
    listed_names.insert(fs::path(line.substr(66)).lexically_normal().string());
    check_digest(root, "SHA256SUMS", line.substr(66), line.substr(0, 64), problems);
  }
  if (listed == 0) problems.push_back("SHA256SUMS lists no files (an empty or truncated backup?)");
}

void verify_manifest(const fs::path& root, std::vector<std::string>& problems, std::set<std::string>& listed_names) {
  auto text = read_regular_inside(root, "manifest.json");
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
    listed_names.insert(fs::path(name).lexically_normal().string());
    check_digest(root, "manifest.json", name, digest.get<std::string>(), problems);
  }
}

bool is_tar_archive_name(const std::string& name) {
  for (const char* suffix : {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd"})
    if (name.ends_with(suffix)) return true;
  return false;
}

// Every tar archive in the target that no checksum list covered is proved whole all the
// same (read, decompressed, its tar checked): a folder whose archive is truncated never
// verifies, listed or not, exactly as the restore's own preflight would refuse it.
void prove_unlisted_archives(const fs::path& root, const std::set<std::string>& listed,
                             std::vector<std::string>& problems) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || it->is_symlink(type_ec)) continue;
    auto relative = it->path().lexically_relative(root).lexically_normal().string();
    if (!is_tar_archive_name(it->path().filename().string()) || listed.contains(relative)) continue;
    if (auto proved = prove_archive(it->path()); !proved)
      problems.push_back(fmt::format("{} (listed in no checksum file) does not read: {}", relative,
                                     proved.error().message));
  }
}

}  // namespace rollback::plan::detail
