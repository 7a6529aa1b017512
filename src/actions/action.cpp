#include <rollback/actions/action.hpp>

#include <algorithm>

#include <rollback/util/text.hpp>

namespace rollback::actions {

Outcome Outcome::success(std::string message) {
  Outcome o;
  o.message = std::move(message);
  return o;
}

Outcome& Outcome::say(std::string_view id, std::string_view english, std::vector<std::string> args) {
  message += fill_placeholders(english, args);
  if (!data.is_object()) data = nlohmann::json::object();
  auto& phrases = data["phrases"];
  phrases["parts"].push_back({{"id", id}, {"args", std::move(args)}});
  // What the parts say in English: a message changed afterwards by other means (the engine's
  // "timed out after ...") no longer matches, and is then shown as it is.
  phrases["text"] = message;
  return *this;
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
