#include <rollback/proc/bounded_buffer.hpp>

#include <fmt/format.h>

namespace rollback::proc {

void BoundedBuffer::append(std::string_view data) {
  total_ += data.size();
  size_t head_limit = limit_ / 2;
  if (head_.size() < head_limit) {
    size_t take = std::min(head_limit - head_.size(), data.size());
    head_.append(data.substr(0, take));
    data.remove_prefix(take);
  }
  size_t tail_limit = limit_ - head_limit;
  if (data.size() >= tail_limit) {
    tail_.assign(data.substr(data.size() - tail_limit));
    tail_start_ = 0;
    return;
  }
  for (char c : data) {
    if (tail_.size() < tail_limit) {
      tail_.push_back(c);
    } else {
      tail_[tail_start_] = c;
      tail_start_ = (tail_start_ + 1) % tail_limit;
    }
  }
}

std::string BoundedBuffer::str() const {
  std::string tail = tail_.substr(tail_start_) + tail_.substr(0, tail_start_);
  size_t kept = head_.size() + tail.size();
  if (kept >= total_) return head_ + tail;
  return head_ + fmt::format("\n[... {} bytes omitted ...]\n", total_ - kept) + tail;
}

}  // namespace rollback::proc
