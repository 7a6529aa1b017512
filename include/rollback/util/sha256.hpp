// SHA-256, streamed, for SHA256SUMS files, archive proofs and dump checksums. OpenSSL's
// implementation: it uses the CPU's SHA extensions, about five times faster than portable
// code, and on the data path every archive byte is hashed once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace rollback {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(std::string_view data);
  std::string hex_digest();  // finishes the hash; call once

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rollback
