// Internal to the plan loader: reading YAML nodes into typed values while collecting every
// problem as a Diagnostic at the node's FILE:LINE:COL. Nothing here stops at the first
// error; a getter that fails reports and returns nullopt so the caller keeps going.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <rollback/plan/plan.hpp>
#include <rollback/util/duration.hpp>

namespace rollback::plan::detail {

class Reader {
 public:
  Reader(std::string file, std::string_view source, Diagnostics& out)
      : file_(std::move(file)), source_(source), out_(out) {}

  const std::string& file() const { return file_; }
  Diagnostics& diagnostics() { return out_; }
  Location where(const YAML::Node& node) const { return location_of(file_, node); }
  // The position of byte `offset` inside a scalar's value: exact for one-line plain and
  // quoted scalars, the scalar's own start otherwise (block scalars, escapes).
  Location where_in(const YAML::Node& scalar, size_t offset) const;

  void error(const YAML::Node& at, std::string message);
  void error(const Location& at, std::string message);

 private:
  std::string file_;
  std::string_view source_;
  Diagnostics& out_;
};

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// A map's entries in file order. Reading one reports unknown keys (with did-you-mean or the
// allowed list), duplicate keys and non-text keys; `context` names the map in messages
// ("step 'stop'", "" for the top level).
class MapView {
 public:
  MapView() = default;
  MapView(Reader& reader, const YAML::Node& map, const std::vector<std::string>& allowed,
          std::string_view context);

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(std::string_view key) const;
  // The value, or an undefined node when the key is absent.
  YAML::Node get(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Present with a value: `key:` with nothing after it counts as missing for required keys.
  bool has_value(std::string_view key) const {
    const Entry* entry = find(key);
    return entry && !entry->value.IsNull();
  }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
  std::vector<Entry> entries_;
};

// "a list", "a map", "text 'abc'", "nothing": what was seen, for "expected X, got Y".
std::string describe(const YAML::Node& node);

// The message prefix for a map's context: "step 'stop': " or "".
std::string prefix(std::string_view context);

// Typed getters on one value. `label` is how the message names it ("retry.attempts");
// `context` as for MapView. Absent or null values return nullopt without a message.
std::optional<std::string> get_text(Reader& r, const MapView& map, std::string_view key,
                                    std::string_view context);
std::optional<Millis> get_duration(Reader& r, const MapView& map, std::string_view key,
                                   std::string_view context, std::string_view label = {});
std::optional<long long> get_int(Reader& r, const MapView& map, std::string_view key,
                                 std::string_view context, long long minimum,
                                 std::string_view label = {});
std::optional<double> get_number(Reader& r, const MapView& map, std::string_view key,
                                 std::string_view context, double minimum,
                                 std::string_view label = {});
std::optional<bool> get_bool(Reader& r, const MapView& map, std::string_view key,
                             std::string_view context);
// A value from a closed set; the message lists the allowed values and a did-you-mean.
std::optional<std::string> get_choice(Reader& r, const MapView& map, std::string_view key,
                                      std::string_view context,
                                      const std::vector<std::string>& allowed,
                                      std::string_view label = {});
// A list of text items; a single text counts as a list of one.
std::optional<std::vector<std::string>> get_text_list(Reader& r, const MapView& map,
                                                      std::string_view key,
                                                      std::string_view context);

// true/false, yes/no, on/off, 1/0 (any case); nullopt when neither.
std::optional<bool> parse_bool(std::string_view text);
// A whole number; nullopt for "3.5", "three", "".
std::optional<long long> parse_int(std::string_view text);

// "closest 'x'" phrase: " (did you mean 'steps'?)" or "".
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates);
// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// Names of vars, steps, secrets and criteria: letters, digits, '_', '-' (and '.' for ids).
bool is_name(std::string_view text, bool allow_dot = false);

}  // namespace rollback::plan::detail
