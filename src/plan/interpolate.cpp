#include <rollback/plan/interpolate.hpp>

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::plan {
namespace {

using nlohmann::json;

// Plain (unquoted) YAML scalars in `Any` params are typed like YAML 1.2 core: numbers,
// booleans and null; quoted ones stay strings (yaml-cpp tags them "!").
json typed_scalar(const std::string& text, bool plain) {
  if (!plain) return text;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  char* end = nullptr;
  long long i = std::strtoll(text.c_str(), &end, 10);
  if (end && *end == '\0' && !text.empty()) return i;
  double d = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && !text.empty()) return d;
  return text;
}

// Whether byte `at` of `text` lies in a URL's authority (after "scheme://", before the
// path): where a password sits in postgresql://user:${secrets.pw}@host/db.
bool in_url_authority(std::string_view text, size_t at) {
  auto scheme = text.rfind("://", at);
  if (scheme == std::string_view::npos) return false;
  return text.substr(scheme + 3, at - scheme - 3).find_first_of("/?#") == std::string_view::npos;
}

// " (from ${project})": the vars a value was made of, for a message about the value.
std::string origin_of(const std::string& text) {
  auto refs = references(text);
  if (!refs || refs->empty()) return "";
  std::string names;
  for (const auto& ref : *refs) names += fmt::format("{}${{{}}}", names.empty() ? "" : ", ", ref);
  return " (from " + names + ")";
}

Result<json> resolve_any(const YAML::Node& node, const Scope& scope, const std::string& where) {
  if (node.IsScalar()) {
    auto text = interpolate(node.Scalar(), scope);
    if (!text) return fail(fmt::format("{}: {}", where, text.error().message));
    bool plain = node.Tag() == "?" && node.Scalar().find("${") == std::string::npos;
    return typed_scalar(*text, plain);
  }
  if (node.IsSequence()) {
    json out = json::array();
    for (size_t i = 0; i < node.size(); ++i) {
      auto item = resolve_any(node[i], scope, fmt::format("{}[{}]", where, i));
      if (!item) return item;
      out.push_back(std::move(*item));
    }
    return out;
  }
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& kv : node) {
      auto key = kv.first.as<std::string>();
      auto item = resolve_any(kv.second, scope, where + "." + key);
      if (!item) return item;
      out[key] = std::move(*item);
    }
    return out;
  }
  return json();
}

}  // namespace

Scope::Scope(const Scope& other) {
  std::lock_guard lock(other.mutex_);
  vars_ = other.vars_;
  secrets_ = other.secrets_;
  builtins_ = other.builtins_;
}

Scope& Scope::operator=(const Scope& other) {
  if (this == &other) return *this;
  std::scoped_lock lock(mutex_, other.mutex_);
  vars_ = other.vars_;
  secrets_ = other.secrets_;
  builtins_ = other.builtins_;
  return *this;
}

void Scope::set_var(const std::string& name, std::string value) {
  std::lock_guard lock(mutex_);
  vars_[name] = std::move(value);
}

void Scope::set_builtin(const std::string& dotted, std::string value) {
  std::lock_guard lock(mutex_);
  builtins_[dotted] = std::move(value);
}

std::map<std::string, std::string> Scope::vars() const {
  std::lock_guard lock(mutex_);
  return vars_;
}

void Scope::set_secret(const std::string& name, std::string value) {
  register_secret(value);
  std::lock_guard lock(mutex_);
  secrets_[name] = std::move(value);
}

std::optional<std::string> Scope::lookup(std::string_view ref) const {
  if (ref.starts_with("env.")) {
    std::string name(ref.substr(4));
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  }
  std::lock_guard lock(mutex_);
  if (ref.starts_with("secrets.")) {
    auto it = secrets_.find(std::string(ref.substr(8)));
    if (it == secrets_.end()) return std::nullopt;
    return it->second;
  }
  if (auto it = builtins_.find(std::string(ref)); it != builtins_.end()) return it->second;
  if (auto it = vars_.find(std::string(ref)); it != vars_.end()) return it->second;
  return std::nullopt;
}

ReferenceScan scan_references(std::string_view text) {
  ReferenceScan scan;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) continue;
    if (text[i + 1] == '$' && i + 2 < text.size() && text[i + 2] == '{') {
      i += 2;  // "$${" is a literal "${"
      continue;
    }
    if (text[i + 1] != '{') continue;
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      scan.error = "unclosed \"${\"";
      scan.error_offset = i;
      return scan;
    }
    std::string ref(text.substr(i + 2, close - i - 2));
    ref.erase(0, ref.find_first_not_of(" \t"));
    ref.erase(ref.find_last_not_of(" \t") + 1);
    if (ref.empty()) {
      scan.error = "empty \"${}\"";
      scan.error_offset = i;
      return scan;
    }
    scan.refs.push_back({std::move(ref), i});
    i = close;
  }
  return scan;
}

Result<std::vector<std::string>> references(std::string_view text) {
  auto scan = scan_references(text);
  if (!scan.error.empty())
    return fail(fmt::format("{} at offset {}", scan.error, scan.error_offset));
  std::vector<std::string> refs;
  for (auto& ref : scan.refs) refs.push_back(std::move(ref.name));
  return refs;
}

Result<std::string> interpolate(std::string_view text, const Scope& scope) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out.push_back(c);
      continue;
    }
    if (text[i + 1] == '$' && i + 2 < text.size() && text[i + 2] == '{') {
      out += "${";
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      out.push_back(c);
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) return fail("unclosed \"${\"");
    std::string ref(text.substr(i + 2, close - i - 2));
    ref.erase(0, ref.find_first_not_of(" \t"));
    ref.erase(ref.find_last_not_of(" \t") + 1);
    auto value = scope.lookup(ref);
    if (!value) {
      if (ref.starts_with("env."))
        return fail(
            fmt::format("environment variable {} is not set (${{{}}})", ref.substr(4), ref));
      return fail(fmt::format("undefined variable ${{{}}}", ref));
    }
    // A secret in a URL's user:password part is percent-encoded there, so `@ : / ?` in it
    // cannot move where the parser splits (and leak the rest as a host name).
    bool encode = scope.is_secret_ref(ref) && in_url_authority(text, i);
    out += encode ? percent_encode(*value) : *value;  // appended, never rescanned
    i = close;
  }
  return out;
}

Result<Params> resolve_params(const YAML::Node& with, const Scope& scope,
                              const std::vector<ParamSpec>& params) {
  json values = json::object();
  if (!with.IsDefined() || with.IsNull()) return Params(values);
  if (!with.IsMap()) return fail("with: must be a map of parameters");
  for (const auto& kv : with) {
    auto key = kv.first.as<std::string>();
    auto spec = std::find_if(params.begin(), params.end(),
                             [&](const auto& p) { return p.name == key; });
    ParamType type = spec == params.end() ? ParamType::Any : spec->type;
    const YAML::Node& node = kv.second;
    std::string where = "with." + key;
    if (node.IsNull()) continue;
    switch (type) {
      case ParamType::String:
      case ParamType::Duration: {
        if (!node.IsScalar()) return fail(fmt::format("{}: expected a text value", where));
        auto text = interpolate(node.Scalar(), scope);
        if (!text) return fail(fmt::format("{}: {}", where, text.error().message));
        if (type == ParamType::Duration && !parse_duration(*text))
          return fail(fmt::format("{}: \"{}\" is not a duration (use 500ms, 30s, 5m, 2h)", where,
                                  redact(*text)));
        if (spec != params.end())
          if (auto problem = value_problem(*spec, *text); !problem.empty())
            return fail(fmt::format("{}: {}{}", where, problem, origin_of(node.Scalar())));
        values[key] = *text;
        break;
      }
      case ParamType::Int: {
        auto text = node.IsScalar() ? interpolate(node.Scalar(), scope)
                                    : Result<std::string>(fail("expected a number"));
        if (!text) return fail(fmt::format("{}: {}", where, text.error().message));
        char* end = nullptr;
        long long v = std::strtoll(text->c_str(), &end, 10);
        if (text->empty() || !end || *end != '\0')
          return fail(fmt::format("{}: \"{}\" is not a whole number", where, redact(*text)));
        values[key] = v;
        break;
      }
      case ParamType::Bool: {
        auto text = node.IsScalar() ? interpolate(node.Scalar(), scope)
                                    : Result<std::string>(fail("expected true or false"));
        if (!text) return fail(fmt::format("{}: {}", where, text.error().message));
        values[key] = truthy(*text);
        break;
      }
      case ParamType::StringList: {
        json items = json::array();
        if (node.IsScalar()) {
          auto text = interpolate(node.Scalar(), scope);
          if (!text) return fail(fmt::format("{}: {}", where, text.error().message));
          if (spec != params.end())
            if (auto problem = value_problem(*spec, *text); !problem.empty())
              return fail(fmt::format("{}: {}{}", where, problem, origin_of(node.Scalar())));
          items.push_back(*text);
        } else if (node.IsSequence()) {
          for (size_t i = 0; i < node.size(); ++i) {
            if (!node[i].IsScalar())
              return fail(fmt::format("{}[{}]: expected a text value", where, i));
            auto text = interpolate(node[i].Scalar(), scope);
            if (!text) return fail(fmt::format("{}[{}]: {}", where, i, text.error().message));
            if (spec != params.end())
              if (auto problem = value_problem(*spec, *text); !problem.empty())
                return fail(fmt::format("{}[{}]: {}{}", where, i, problem, origin_of(node[i].Scalar())));
            items.push_back(*text);
          }
        } else {
          return fail(fmt::format("{}: expected a list", where));
        }
        values[key] = std::move(items);
        break;
      }
      case ParamType::StringMap: {
        if (!node.IsMap()) return fail(fmt::format("{}: expected a map", where));
        json items = json::object();
        for (const auto& item : node) {
          auto name = item.first.as<std::string>();
          if (!item.second.IsScalar())
            return fail(fmt::format("{}.{}: expected a text value", where, name));
          auto text = interpolate(item.second.Scalar(), scope);
          if (!text) return fail(fmt::format("{}.{}: {}", where, name, text.error().message));
          items[name] = *text;
        }
        values[key] = std::move(items);
        break;
      }
      case ParamType::Any: {
        auto resolved = resolve_any(node, scope, where);
        if (!resolved) return std::unexpected(resolved.error());
        values[key] = std::move(*resolved);
        break;
      }
    }
  }
  return Params(std::move(values));
}

bool truthy(std::string_view value) {
  std::string v(trim(value));
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return !(v.empty() || v == "false" || v == "no" || v == "0" || v == "off" || v == "null");
}

}  // namespace rollback::plan
