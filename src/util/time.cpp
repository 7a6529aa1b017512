#include <rollback/util/time.hpp>

#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <ctime>

namespace rollback {

using Millis = std::chrono::milliseconds;

std::string format_utc(SystemTime time, const char* pattern) {
  auto ms = std::chrono::duration_cast<Millis>(time.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[128];
  size_t n = std::strftime(buf, sizeof buf, pattern, &tm);
  return std::string(buf, n);
}

std::string format_iso_utc(SystemTime time) {
  auto ms = std::chrono::duration_cast<Millis>(time.time_since_epoch()).count();
  long long frac = ((ms % 1000) + 1000) % 1000;
  return fmt::format("{}.{:03}Z", format_utc(time, "%Y-%m-%dT%H:%M:%S"), frac);
}

std::optional<SystemTime> parse_iso_utc(std::string_view text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6)
    return std::nullopt;
  long long frac = 0;
  size_t i = static_cast<size_t>(consumed);
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++digits)
      if (digits < 3) frac = frac * 10 + (s[i] - '0');
    for (; digits < 3; ++digits) frac *= 10;
  }
  if (i >= s.size() || s[i] != 'Z') return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t secs = ::timegm(&tm);
  return SystemTime(Millis(static_cast<long long>(secs) * 1000 + frac));
}

}  // namespace rollback
