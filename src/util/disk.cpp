#include <rollback/util/disk.hpp>

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace rollback {

std::string human_size(std::uint64_t bytes) {
  double v = static_cast<double>(bytes);
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.1f}{}", v, units[u]);
}

std::uint64_t space_needed(std::uint64_t expected) { return expected + expected / 10 + (16u << 20); }

Result<std::uint64_t> free_space(const std::filesystem::path& path) {
  std::error_code ec;
  auto probe = std::filesystem::absolute(path, ec);
  if (ec) probe = path;
  while (!std::filesystem::exists(probe, ec) && probe.has_parent_path() && probe != probe.parent_path())
    probe = probe.parent_path();
  struct statvfs st {};
  if (::statvfs(probe.c_str(), &st) != 0)
    return fail(fmt::format("cannot read the free space of {}: {}", probe.string(), std::strerror(errno)));
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

std::string no_room_message(const std::filesystem::path& dir, std::uint64_t expected, std::uint64_t free,
                            std::string_view what) {
  return fmt::format("not enough free space in {} for {}: it needs {} ({} + 10% + 16MB), {} free; free some "
                     "space or write the backup elsewhere",
                     dir.string(), what, human_size(space_needed(expected)), human_size(expected),
                     human_size(free));
}

Status check_room(const std::filesystem::path& dir, std::uint64_t expected, std::string_view what) {
  auto free = free_space(dir);
  if (!free) return std::unexpected(free.error());
  if (*free < space_needed(expected)) return fail(no_room_message(dir, expected, *free, what));
  return ok();
}

Result<double> disk_free_percent(const std::filesystem::path& path) {
  struct statvfs st{};
  if (::statvfs(path.c_str(), &st) != 0)
    return fail(fmt::format("{}: cannot read free space: {}", path.string(), std::strerror(errno)));
  double used = static_cast<double>(st.f_blocks - st.f_bfree);
  double avail = static_cast<double>(st.f_bavail);
  if (used + avail <= 0) return fail(fmt::format("{}: filesystem reports no size", path.string()));
  return 100.0 * avail / (used + avail);
}

}  // namespace rollback
