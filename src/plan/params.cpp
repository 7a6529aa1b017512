// Params (resolved values) and ParamCheck (load-time rules) of include/rollback/plan/params.hpp.
#include <rollback/plan/params.hpp>

#include <algorithm>
#include <cctype>

#include <rollback/plan/interpolate.hpp>
#include <rollback/util/text.hpp>

namespace rollback::plan {
namespace {

const nlohmann::json& null_json() {
  static const nlohmann::json n;
  return n;
}

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace

bool Params::has(std::string_view key) const {
  auto it = values_.find(key);
  return it != values_.end() && !it->is_null();
}

const nlohmann::json& Params::raw(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? null_json() : *it;
}

std::string Params::str(std::string_view key, std::string_view fallback) const {
  if (!has(key)) return std::string(fallback);
  return scalar_text(raw(key));
}

long long Params::integer(std::string_view key, long long fallback) const {
  if (!has(key)) return fallback;
  const auto& v = raw(key);
  if (v.is_number_integer()) return v.get<long long>();
  try {
    return std::stoll(scalar_text(v));
  } catch (...) {
    return fallback;
  }
}

bool Params::flag(std::string_view key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = raw(key);
  if (v.is_boolean()) return v.get<bool>();
  return truthy(scalar_text(v));
}

Millis Params::duration(std::string_view key, Millis fallback) const {
  if (!has(key)) return fallback;
  auto d = parse_duration(scalar_text(raw(key)));
  return d ? *d : fallback;
}

std::vector<std::string> Params::list(std::string_view key) const {
  std::vector<std::string> out;
  if (!has(key)) return out;
  const auto& v = raw(key);
  if (v.is_array()) {
    for (const auto& item : v) out.push_back(scalar_text(item));
  } else {
    out.push_back(scalar_text(v));
  }
  return out;
}

std::map<std::string, std::string> Params::map(std::string_view key) const {
  std::map<std::string, std::string> out;
  const auto& v = raw(key);
  if (!v.is_object()) return out;
  for (const auto& [k, item] : v.items()) out[k] = scalar_text(item);
  return out;
}

bool ParamCheck::has(std::string_view key) const {
  return with_.IsMap() && with_[std::string(key)].IsDefined() && !with_[std::string(key)].IsNull();
}

const YAML::Node ParamCheck::node(std::string_view key) const {
  if (!with_.IsMap()) return YAML::Node();
  // On a const node, a missing key gives yaml-cpp's invalid "zombie" node, which throws on
  // the first IsMap(): absent is a plain null node here.
  const YAML::Node found = with_[std::string(key)];
  return found.IsDefined() ? found : YAML::Node();
}

std::optional<std::string> ParamCheck::literal(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  auto n = node(key);
  if (!n.IsScalar()) return std::nullopt;
  auto text = n.Scalar();
  if (text.find("${") != std::string::npos) return std::nullopt;
  return text;
}

void ParamCheck::error(std::string_view key, std::string message) {
  if (has(key)) {
    out_.push_back({location_of(file_, node(key)), std::move(message)});
  } else {
    error_at_step(std::move(message));
  }
}

void ParamCheck::error_at_step(std::string message) { out_.push_back({step_, std::move(message)}); }

const ParamSpec* ActionSchema::find_param(std::string_view param_name) const {
  auto it = std::find_if(params.begin(), params.end(), [&](const ParamSpec& p) { return p.name == param_name; });
  return it == params.end() ? nullptr : &*it;
}

bool reads_only(bool always, const std::string& read_only_param, const YAML::Node& with) {
  if (always) return true;
  if (read_only_param.empty() || !with.IsDefined() || !with.IsMap()) return false;
  const YAML::Node flag = with[read_only_param];
  if (!flag.IsDefined() || !flag.IsScalar()) return false;
  const auto& text = flag.Scalar();
  return text == "true" || text == "yes" || text == "True" || text == "on";
}

namespace {

// scheme://host[...]: what curl and libpq need before anything else.
bool looks_like_url(std::string_view value) {
  auto colon = value.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (!(std::isalnum(c) || c == '+' || c == '-' || c == '.') || (i == 0 && !std::isalpha(c))) return false;
  }
  auto rest = value.substr(colon + 3);
  auto host_end = rest.find_first_of("/?#");
  if (rest.substr(0, host_end).empty() && !value.starts_with("postgres")) return false;
  return rest.find_first_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::string value_problem(const ParamSpec& spec, std::string_view value) {
  if (spec.names == Names::Nothing) return "";
  if (value.empty()) return "is empty";
  if (trim(value).empty()) return "is blank";
  if (spec.names == Names::Url && !looks_like_url(value))
    return "is not a URL (expected scheme://host..., such as http://127.0.0.1:8080/health)";
  if (spec.names == Names::Dsn && value.find("://") != std::string_view::npos && !looks_like_url(value))
    return "is not a PostgreSQL URI (expected postgresql://user@host:port/database)";
  if (value.find('\0') != std::string_view::npos) return "holds a NUL byte";
  return "";
}

}  // namespace rollback::plan
