// Real tar archives for unit tests, built in memory (ustar headers) and written through the
// product's own ArchiveWriter: a fixture is a genuine .tar.zst / .tar.gz / .tar, not text
// that a fake happens to accept.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <rollback/util/archive.hpp>

namespace testing {

// A tar stream of regular files (name, content), with the end-of-archive blocks.
std::string tar_of(const std::vector<std::pair<std::string, std::string>>& files);

// Writes `files` as an archive at `path`, compressed as its name says (zstd by default).
void write_archive(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace testing
