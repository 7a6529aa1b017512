// SHA-256 (FIPS 180-4), streamed. Used for SHA256SUMS files and dump checksums; kept here
// so the tool needs no crypto library for one hash.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rollback {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  std::string hex_digest();  // finishes the hash; call once

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace rollback
