// Wall-clock times as the journal, report.json and Docker write them: UTC ISO-8601.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rollback {

using SystemTime = std::chrono::system_clock::time_point;

// The one UTC formatter: strftime's `pattern` over the UTC calendar time of `time`.
std::string format_utc(SystemTime time, const char* pattern);
inline constexpr const char* kCompactUtc = "%Y%m%d-%H%M%S";       // run ids, ${run.started}
inline constexpr const char* kHumanUtc = "%Y-%m-%d %H:%M:%S UTC";  // reports, target lists
inline constexpr const char* kClockUtc = "%H:%M:%S UTC";           // times within a report
inline constexpr const char* kIsoSecondsUtc = "%Y-%m-%dT%H:%M:%SZ";
inline constexpr const char* kMailDateUtc = "%a, %d %b %Y %H:%M:%S +0000";  // RFC 5322

// "2025-01-27T18:00:00.123Z" (always milliseconds): journals and report.json.
std::string format_iso_utc(SystemTime time);

// Reads "2025-01-27T18:00:00Z" with any number of fraction digits (Docker writes
// nanoseconds), keeping milliseconds; nullopt on anything else.
std::optional<SystemTime> parse_iso_utc(std::string_view text);

}  // namespace rollback
