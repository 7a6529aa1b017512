// Keeps the first and last bytes of a stream within a fixed budget. The head shows how a
// command started, the tail how it ended; the middle of a 10 GB log is not kept.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rollback::proc {

class BoundedBuffer {
 public:
  explicit BoundedBuffer(size_t limit) : limit_(limit < 2 ? 2 : limit) {}
  void append(std::string_view data);
  size_t total() const { return total_; }
  // Head, then "\n[... N bytes omitted ...]\n" if anything was dropped, then tail.
  std::string str() const;

 private:
  size_t limit_;
  size_t total_ = 0;
  std::string head_;
  std::string tail_;  // ring buffer of at most limit_/2 bytes, oldest at tail_start_
  size_t tail_start_ = 0;
};

}  // namespace rollback::proc
