// PostgreSQL's control file (include/rollback/util/pg_control.hpp).
#include <rollback/util/pg_control.hpp>

#include <array>
#include <cstring>

namespace rollback {
namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto kTable = make_table();

}  // namespace

std::uint32_t crc32c(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) crc = kTable[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

bool pg_control_reads(std::string_view file) {
  // The record starts with the system identifier (8 bytes) and pg_control_version (4): a
  // CRC can only follow them.
  constexpr size_t kFirst = 12, kLast = 1024;
  for (size_t at = kFirst; at + 4 <= file.size() && at <= kLast; at += 4) {
    std::uint32_t stored;
    std::memcpy(&stored, file.data() + at, 4);  // written in the machine's order, as here
    if (stored == crc32c(file.substr(0, at))) return true;
  }
  return false;
}

}  // namespace rollback
