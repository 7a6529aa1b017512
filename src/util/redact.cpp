#include <rollback/util/redact.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

namespace rollback {
namespace {

std::mutex& secrets_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}

}  // namespace

void register_secret(std::string value) {
  if (value.empty()) return;
  std::lock_guard lock(secrets_mutex());
  auto& s = secrets();
  if (std::find(s.begin(), s.end(), value) != s.end()) return;
  s.push_back(std::move(value));
  std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(secrets_mutex());
  for (const auto& secret : secrets()) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kRedacted);
      pos += kRedacted.size();
    }
  }
  return out;
}

void clear_secrets() {
  std::lock_guard lock(secrets_mutex());
  secrets().clear();
}

}  // namespace rollback
