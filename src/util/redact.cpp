#include <rollback/util/redact.hpp>

#include <algorithm>
#include <cctype>
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

void add(std::string value) {
  auto& s = secrets();
  if (value.empty() || std::find(s.begin(), s.end(), value) != s.end()) return;
  s.push_back(std::move(value));
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

void register_secret(std::string value) {
  if (value.empty()) return;
  constexpr size_t kShortest = 4;  // shorter pieces would hide ordinary words
  std::lock_guard lock(secrets_mutex());
  add(percent_encode(value));
  for (size_t start = 0; start < value.size();) {
    size_t end = value.find_first_of("@:/?", start);
    if (end == std::string::npos) end = value.size();
    if (end - start >= kShortest && end - start < value.size()) add(value.substr(start, end - start));
    start = end + 1;
  }
  add(std::move(value));
  auto& s = secrets();
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
