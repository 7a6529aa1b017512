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

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Where a URI's authority (or a value) stops: the characters that can follow it in a URI,
// in JSON, in a shell line or in prose. Not ':' or '@': a password may hold them (raw, in
// a careless DSN).
bool ends_authority(char c) {
  return is_space(c) || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' ||
         c == '`' || c == '\\';
}

// scheme://user:PASSWORD@host -> scheme://user:***@host, for every URI in `text`. The
// password is everything between the first ':' of the userinfo and the last '@' of the
// authority, so a raw '@' in the password is hidden too.
std::string mask_uri_passwords(std::string_view text) {
  std::string out;
  size_t done = 0;
  for (size_t sep = text.find("://"); sep != std::string_view::npos; sep = text.find("://", sep + 3)) {
    if (sep == 0 || sep < done) continue;
    size_t start = sep + 3;
    size_t end = start;
    while (end < text.size() && !ends_authority(text[end])) ++end;
    auto authority = text.substr(start, end - start);
    size_t at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    size_t colon = authority.find(':');
    if (colon == std::string_view::npos || colon > at) continue;
    size_t from = start + colon + 1;
    size_t to = start + at;
    if (text.substr(from, to - from) == kRedacted) continue;
    out.append(text.substr(done, from - done));
    out.append(kRedacted);
    done = to;
  }
  out.append(text.substr(done));
  return out;
}

bool key_at(std::string_view text, size_t pos, std::string_view key) {
  if (text.size() - pos < key.size()) return false;
  for (size_t i = 0; i < key.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != key[i]) return false;
  return true;
}

// password=VALUE and sslpassword=VALUE (any case, spaces around '=' allowed, as libpq's
// keyword DSNs allow) -> password=***. The key must start a word: "sslpassword" is its own
// key, "mypassword" is not one. A value in single quotes runs to the closing quote (libpq
// quoting, with backslash escapes); otherwise to a space, '&', ';', ',', a quote or a backslash.
std::string mask_password_values(std::string_view text) {
  static constexpr std::string_view kKey = "password";
  std::string out;
  size_t done = 0;
  for (size_t i = 0; i + kKey.size() <= text.size(); ++i) {
    if (!key_at(text, i, kKey)) continue;
    size_t key_start = i >= 3 && key_at(text, i - 3, "ssl") ? i - 3 : i;
    if (key_start > 0 && is_alnum(text[key_start - 1])) continue;
    size_t j = i + kKey.size();
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j >= text.size() || text[j] != '=') continue;
    ++j;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    size_t value_end = j;
    if (value_end < text.size() && text[value_end] == '\'') {
      ++value_end;
      while (value_end < text.size() && text[value_end] != '\'') value_end += text[value_end] == '\\' ? 2 : 1;
      value_end = std::min(value_end + 1, text.size());
    } else {
      while (value_end < text.size() && !is_space(text[value_end]) && text[value_end] != '&' &&
             text[value_end] != ';' && text[value_end] != ',' && text[value_end] != '"' && text[value_end] != '\'' &&
             text[value_end] != '\\')
        ++value_end;
    }
    if (value_end == j || text.substr(j, value_end - j) == kRedacted) continue;
    out.append(text.substr(done, j - done));
    out.append(kRedacted);
    done = value_end;
    i = value_end - 1;
  }
  out.append(text.substr(done));
  return out;
}

}  // namespace

std::string mask_credentials(std::string_view text) {
  // URIs first, on the text as it came: masking a query's password= first must not stop the
  // URI's own password from being found (issue 23: it did, with a per-DSN regex).
  return mask_password_values(mask_uri_passwords(text));
}

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
  // Defence in depth: plan::load_secrets refuses these with a located error. A shorter
  // value would mask ordinary words everywhere ("e***it 4" for "exit 4").
  if (value.size() < kShortestSecret) return;
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
  std::string out = mask_credentials(text);
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
