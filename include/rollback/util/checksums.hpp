// SHA256SUMS files in the format `sha256sum` writes and `sha256sum -c` reads:
// "<64 hex>  <relative path>" per line. Backups carry one so a restore can prove its
// source is intact before anything is destroyed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <rollback/util/result.hpp>

namespace rollback {

inline constexpr const char* kChecksumFile = "SHA256SUMS";

// Hashes every regular file below `dir` (recursively, sorted, the sums file itself
// excluded) into dir/<file>, atomically. Returns the number of files listed.
Result<size_t> write_sha256sums(const std::filesystem::path& dir,
                                const std::string& file = kChecksumFile);

// Checks every file listed in dir/<file>. Returns one problem per bad entry ("x.tar.gz:
// checksum differs", "y.env: missing"); empty when all match. Fails when the sums file
// cannot be read or has a malformed line.
Result<std::vector<std::string>> verify_sha256sums(const std::filesystem::path& dir,
                                                   const std::string& file = kChecksumFile);

}  // namespace rollback
