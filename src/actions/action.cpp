#include <rollback/actions/action.hpp>

#include <algorithm>

namespace rollback::actions {

Outcome Outcome::success(std::string message) {
  Outcome o;
  o.message = std::move(message);
  return o;
}

Outcome Outcome::failure(std::string message, bool transient) {
  Outcome o;
  o.ok = false;
  o.transient = transient;
  o.message = std::move(message);
  return o;
}

Millis ActionContext::remaining(Millis cap) const {
  if (deadline == std::chrono::steady_clock::time_point::max()) return cap;
  auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
  if (left.count() < 1) left = Millis(1);
  if (cap.count() == 0) return left;
  return std::min(left, cap);
}

}  // namespace rollback::actions
