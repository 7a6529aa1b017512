#include "support/tar_builder.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>

namespace testing {
namespace {

void octal(char* field, size_t width, unsigned long long value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), value);
}

}  // namespace

std::string tar_of(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  for (const auto& [name, content] : files) {
    char header[512] = {};
    std::strncpy(header, name.c_str(), 99);
    octal(header + 100, 8, 0644);
    octal(header + 108, 8, 0);
    octal(header + 116, 8, 0);
    octal(header + 124, 12, content.size());
    octal(header + 136, 12, 1700000000);
    std::memset(header + 148, ' ', 8);
    header[156] = '0';
    std::memcpy(header + 257, "ustar", 6);
    std::memcpy(header + 263, "00", 2);
    unsigned sum = 0;
    for (unsigned char c : header) sum += c;
    std::snprintf(header + 148, 8, "%06o", sum);
    out.append(header, 512);
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

void write_archive(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& files) {
  auto compression = rollback::compression_from_name(path.filename().string()).value_or(rollback::Compression::Zstd);
  std::filesystem::create_directories(path.parent_path());
  rollback::ArchiveWriter writer(path, compression);
  REQUIRE(writer.open());
  REQUIRE(writer.write(tar_of(files)));
  REQUIRE(writer.close());
}

}  // namespace testing
