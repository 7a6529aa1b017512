// Wall-clock times as the journal, report.json and Docker write them: UTC ISO-8601.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rollback {

using SystemTime = std::chrono::system_clock::time_point;

// "2025-01-27T18:00:00.123Z" (always milliseconds).
std::string format_iso_utc(SystemTime time);

// Reads "2025-01-27T18:00:00Z" with any number of fraction digits (Docker writes
// nanoseconds), keeping milliseconds; nullopt on anything else.
std::optional<SystemTime> parse_iso_utc(std::string_view text);

}  // namespace rollback
