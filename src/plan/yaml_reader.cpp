#include "yaml_reader.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <rollback/util/text.hpp>
#include <rollback/plan/loader.hpp>

namespace rollback::plan::detail {

Location Reader::where_in(const YAML::Node& scalar, size_t offset) const {
  Location loc = where(scalar);
  if (!scalar.IsScalar() || loc.line == 0) return loc;
  const std::string& value = scalar.Scalar();
  if (value.find('\n') != std::string::npos) return loc;
  auto pos = static_cast<size_t>(scalar.Mark().pos);
  if (pos >= source_.size()) return loc;
  // Quoted scalars start with their quote; the value follows it verbatim unless escaped.
  size_t skip = (source_[pos] == '"' || source_[pos] == '\'') ? 1 : 0;
  if (source_.substr(pos + skip, value.size()) != value) return loc;
  loc.column += static_cast<int>(skip + offset);
  return loc;
}

void Reader::error(const YAML::Node& at, std::string message) {
  out_.push_back({where(at), std::move(message)});
}

void Reader::error(const Location& at, std::string message) {
  out_.push_back({at, std::move(message)});
}

// A key as the user can read it: an invisible control character (pasted from a terminal or
// a chat) is shown as \xNN, else "unknown key 'with' (did you mean 'with'?)" is a riddle.
static std::string visible(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

MapView::MapView(Reader& reader, const YAML::Node& map, const std::vector<std::string>& allowed,
                 std::string_view context)
    : node_(map) {
  std::string in = context.empty() ? "" : fmt::format(" in {}", context);
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      reader.error(kv.first,
                   fmt::format("{}keys must be text, got {}", prefix(context), describe(kv.first)));
      continue;
    }
    std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      auto hint = suggestion(key, allowed);
      if (hint.empty()) hint = fmt::format(" (allowed: {})", join(allowed));
      reader.error(kv.first, fmt::format("unknown key '{}'{}{}", visible(key), in, hint));
      continue;
    }
    if (const Entry* first = find(key)) {
      reader.error(kv.first, fmt::format("duplicate key '{}'{} (first at line {})", key, in,
                                         reader.where(first->key_node).line));
      continue;
    }
    entries_.push_back({key, kv.first, kv.second});
  }
}

const Entry* MapView::find(std::string_view key) const {
  for (const auto& entry : entries_)
    if (entry.key == key) return &entry;
  return nullptr;
}

YAML::Node MapView::get(std::string_view key) const {
  if (const Entry* entry = find(key)) return entry->value;
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  std::string text = node.Scalar();
  if (text.size() > 40) {
    text.resize(37);
    text.append("...");
  }
  return fmt::format("'{}'", text);
}

std::string prefix(std::string_view context) {
  return context.empty() ? std::string() : fmt::format("{}: ", context);
}

namespace {

std::string label_of(std::string_view key, std::string_view label) {
  return std::string(label.empty() ? key : label);
}

// The scalar text of `key`, reporting a non-scalar; nullopt when absent, null or wrong.
std::optional<std::string> scalar_of(Reader& r, const MapView& map, std::string_view key,
                                     std::string_view context, std::string_view label,
                                     std::string_view expected) {
  YAML::Node node = map.get(key);
  if (!node.IsDefined() || node.IsNull()) return std::nullopt;
  if (!node.IsScalar()) {
    r.error(node, fmt::format("{}{}: expected {}, got {}", prefix(context), label_of(key, label),
                              expected, describe(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

}  // namespace

std::optional<std::string> get_text(Reader& r, const MapView& map, std::string_view key,
                                    std::string_view context) {
  return scalar_of(r, map, key, context, {}, "text");
}

std::optional<Millis> get_duration(Reader& r, const MapView& map, std::string_view key,
                                   std::string_view context, std::string_view label) {
  auto text = scalar_of(r, map, key, context, label, "a duration such as 30s or 5m");
  if (!text) return std::nullopt;
  auto value = parse_duration(*text);
  if (!value)
    r.error(map.get(key), fmt::format("{}{}: '{}' is not a duration (use 500ms, 30s, 5m, 2h, "
                                      "1h30m)",
                                      prefix(context), label_of(key, label), *text));
  return value;
}

std::optional<long long> get_int(Reader& r, const MapView& map, std::string_view key,
                                 std::string_view context, long long minimum,
                                 std::string_view label) {
  auto text = scalar_of(r, map, key, context, label, "a whole number");
  if (!text) return std::nullopt;
  auto value = parse_int(*text);
  if (!value) {
    r.error(map.get(key), fmt::format("{}{}: expected a whole number, got '{}'", prefix(context),
                                      label_of(key, label), *text));
  } else if (*value < minimum) {
    r.error(map.get(key), fmt::format("{}{}: must be at least {}, got {}", prefix(context),
                                      label_of(key, label), minimum, *value));
    return std::nullopt;
  }
  return value;
}

std::optional<double> get_number(Reader& r, const MapView& map, std::string_view key,
                                 std::string_view context, double minimum, std::string_view label) {
  auto text = scalar_of(r, map, key, context, label, "a number");
  if (!text) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text->c_str(), &end);
  if (text->empty() || !end || *end != '\0') {
    r.error(map.get(key), fmt::format("{}{}: expected a number, got '{}'", prefix(context),
                                      label_of(key, label), *text));
    return std::nullopt;
  }
  if (value < minimum) {
    r.error(map.get(key), fmt::format("{}{}: must be at least {}, got {}", prefix(context),
                                      label_of(key, label), minimum, *text));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> get_bool(Reader& r, const MapView& map, std::string_view key,
                             std::string_view context) {
  auto text = scalar_of(r, map, key, context, {}, "true or false");
  if (!text) return std::nullopt;
  auto value = parse_bool(*text);
  if (!value)
    r.error(map.get(key),
            fmt::format("{}{}: expected true or false, got '{}'", prefix(context), key, *text));
  return value;
}

std::optional<std::string> get_choice(Reader& r, const MapView& map, std::string_view key,
                                      std::string_view context,
                                      const std::vector<std::string>& allowed,
                                      std::string_view label) {
  auto text = scalar_of(r, map, key, context, label, fmt::format("one of {}", join(allowed)));
  if (!text) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *text) != allowed.end()) return text;
  r.error(map.get(key),
          fmt::format("{}{}: '{}' is not one of {}{}", prefix(context), label_of(key, label), *text,
                      join(allowed), suggestion(*text, allowed)));
  return std::nullopt;
}

std::optional<std::vector<std::string>> get_text_list(Reader& r, const MapView& map,
                                                      std::string_view key,
                                                      std::string_view context) {
  YAML::Node node = map.get(key);
  if (!node.IsDefined() || node.IsNull()) return std::nullopt;
  if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
  if (!node.IsSequence()) {
    r.error(node, fmt::format("{}{}: expected a list of text, got {}", prefix(context), key,
                              describe(node)));
    return std::nullopt;
  }
  std::vector<std::string> items;
  bool good = true;
  for (size_t i = 0; i < node.size(); ++i) {
    if (!node[i].IsScalar()) {
      r.error(node[i], fmt::format("{}{}[{}]: expected text, got {}", prefix(context), key, i,
                                   describe(node[i])));
      good = false;
      continue;
    }
    items.push_back(node[i].Scalar());
  }
  if (!good) return std::nullopt;
  return items;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string v(text);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

std::optional<long long> parse_int(std::string_view text) {
  std::string v(text);
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(v.c_str(), &end, 10);
  if (!end || *end != '\0' || errno == ERANGE) return std::nullopt;
  return value;
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  auto best = did_you_mean(word, candidates);
  return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

bool is_name(std::string_view text, bool allow_dot) {
  if (text.empty() || !std::isalnum(static_cast<unsigned char>(text[0]))) {
    if (text.empty() || text[0] != '_') return false;
  }
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
           (allow_dot && c == '.');
  });
}

}  // namespace rollback::plan::detail
