// Room on disk before a backup writes: a backup that fills the disk halfway through takes
// down whatever else writes there (the database, the logs) at the worst moment.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <rollback/util/result.hpp>

namespace rollback {

// "1.5GB", "340.0KB", "12B".
std::string human_size(std::uint64_t bytes);

// What a backup of `expected` bytes needs free: the size, 10 % more, and 16 MiB besides.
std::uint64_t space_needed(std::uint64_t expected);

// Bytes available to us on the filesystem holding `path` (or its nearest existing parent).
Result<std::uint64_t> free_space(const std::filesystem::path& path);

// Fails, naming `what`, the directory and every number, unless `dir` has space_needed(expected).
Status check_room(const std::filesystem::path& dir, std::uint64_t expected, std::string_view what);

// The message check_room gives, for callers that measured elsewhere (inside a container).
std::string no_room_message(const std::filesystem::path& dir, std::uint64_t expected, std::uint64_t free,
                            std::string_view what);

// Free space of the filesystem holding `path`, in percent, as df sees it: available to
// unprivileged users / (used + available), i.e. 100 - df's Use%.
Result<double> disk_free_percent(const std::filesystem::path& path);

}  // namespace rollback
