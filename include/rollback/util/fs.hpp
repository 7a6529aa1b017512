// Small filesystem helpers shared by the journal, the report and the adapters.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <rollback/util/result.hpp>

namespace rollback {

// Writes `content` to `path` atomically: a temp file beside it, fsync, rename, fsync of the
// directory. A reader sees the old file or the new one, never a torn one.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Appends one line (a '\n' is added) and fsyncs before returning.
Status append_line_synced(const std::filesystem::path& path, std::string_view line);

Result<std::string> read_file(const std::filesystem::path& path);

// Hex SHA-256 of a file's content, streamed (constant memory).
Result<std::string> sha256_file(const std::filesystem::path& path);
std::string sha256_hex(std::string_view data);

}  // namespace rollback
