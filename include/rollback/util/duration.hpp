// Durations as written in plans and flags: "500ms", "30s", "5m", "2h", "1h30m", "1d".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rollback {

using Millis = std::chrono::milliseconds;

// Returns nullopt when `text` is not a duration (a bare number is not: units are required,
// so "30" in a plan is caught instead of silently meaning 30 ms or 30 s).
std::optional<Millis> parse_duration(std::string_view text);

// "1.2s", "350ms", "2m05s", "1h02m": short and readable for reports and console lines.
std::string format_duration(Millis d);

}  // namespace rollback
