#include <rollback/util/checksums.hpp>

#include <algorithm>
#include <fmt/format.h>

#include <rollback/util/archive.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/regular_file.hpp>

namespace rollback {
namespace fs = std::filesystem;

Result<size_t> write_sha256sums(const fs::path& dir, const std::string& file) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto relative = fs::relative(it->path(), dir).string();
    if (relative == file || is_unfinished_file(it->path().filename().string())) continue;
    names.push_back(relative);
  }
  if (ec) return fail(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(names.begin(), names.end());
  std::string content;
  for (const auto& name : names) {
    auto sum = sha256_file(dir / name);
    if (!sum) return std::unexpected(sum.error());
    content += fmt::format("{}  {}\n", *sum, name);
  }
  RB_TRY(write_file_atomic(dir / file, content));
  return names.size();
}

Result<std::vector<std::string>> verify_sha256sums(const fs::path& dir, const std::string& file) {
  auto content = read_regular_inside(dir, file);
  if (!content) return std::unexpected(content.error());
  std::vector<std::string> problems;
  size_t line_no = 0, pos = 0;
  while (pos < content->size()) {
    auto nl = content->find('\n', pos);
    std::string line = content->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? content->size() : nl + 1;
    ++line_no;
    if (line.empty()) continue;
    // "<hex>  name" (text mode) or "<hex> *name" (binary mode), as sha256sum writes them.
    if (line.size() < 66 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*'))
      return fail(fmt::format("{}:{}: not a sha256sum line", (dir / file).string(), line_no));
    std::string expected = line.substr(0, 64), name = line.substr(66);
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(dir / name, ec))) {
      problems.push_back(fmt::format("{}: missing", name));
      continue;
    }
    // Only a regular file inside `dir` is read: a FIFO or a link to /dev/zero never ends.
    if (auto regular = open_regular_inside(dir, name); !regular) {
      problems.push_back(regular.error().message);
      continue;
    }
    // An archive is proved whole in the same pass that hashes it (decompressed, its tar
    // checked): the restore that reads it next finds the proof and does not read it again.
    std::string broken;
    auto actual = digest_proving(dir / name, broken);
    if (!actual) {
      problems.push_back(fmt::format("{}: {}", name, actual.error().message));
    } else if (*actual != expected) {
      problems.push_back(fmt::format("{}: checksum differs (expected {}, found {})", name,
                                     expected.substr(0, 12), actual->substr(0, 12)));
    } else if (!broken.empty()) {
      problems.push_back(fmt::format("{}: the checksum matches, but the archive does not read: {}", name, broken));
    }
  }
  return problems;
}

}  // namespace rollback
