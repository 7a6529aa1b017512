// An action's parameters checked at load time against its ParamSpecs, so a typo in a plan
// is found by `validate`, not halfway through a rollback.
#include <fmt/format.h>
#include <algorithm>

#include "loader_internal.hpp"

namespace rollback::plan::detail {
namespace {


std::string_view expected_shape(ParamType type) {
  switch (type) {
    case ParamType::String:
      return "text";
    case ParamType::Int:
      return "a whole number";
    case ParamType::Bool:
      return "true or false";
    case ParamType::Duration:
      return "a duration such as 30s or 5m";
    case ParamType::StringList:
      return "a list of text";
    case ParamType::StringMap:
      return "a map of names to text";
    case ParamType::Any:
      return "a value";
  }
  return "a value";
}

bool has_shape(ParamType type, const YAML::Node& node) {
  switch (type) {
    case ParamType::StringList:
      if (node.IsScalar()) return true;
      if (!node.IsSequence()) return false;
      for (const auto& item : node)
        if (!item.IsScalar()) return false;
      return true;
    case ParamType::StringMap:
      if (!node.IsMap()) return false;
      for (const auto& kv : node)
        if (!kv.second.IsScalar()) return false;  // resolve_params refuses null values too
      return true;
    case ParamType::Any:
      return true;
    default:
      return node.IsScalar();
  }
}

// What is wrong with a literal (no ${...}) scalar for its spec, or "".
std::string literal_problem(const ParamSpec& spec, const std::string& text) {
  switch (spec.type) {
    case ParamType::Int:
      if (!parse_int(text)) return fmt::format("expected a whole number, got '{}'", text);
      break;
    case ParamType::Bool:
      if (!parse_bool(text)) return fmt::format("expected true or false, got '{}'", text);
      break;
    case ParamType::Duration:
      if (!parse_duration(text))
        return fmt::format("'{}' is not a duration (use 500ms, 30s, 5m, 2h, 1h30m)", text);
      break;
    default:
      break;
  }
  if (auto problem = value_problem(spec, text); !problem.empty()) return problem;
  if (!spec.choices.empty() &&
      std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end())
    return fmt::format("'{}' is not one of {}{}", text, join(spec.choices),
                       suggestion(text, spec.choices));
  return "";
}

void check_value(Loader& l, const ParamSpec& spec, const YAML::Node& value,
                 const std::string& label) {
  if (!has_shape(spec.type, value)) {
    l.r.error(value, fmt::format("{}: expected {}, got {}", label, expected_shape(spec.type),
                                 describe(value)));
    return;
  }
  if (spec.sets_var) {
    if (!value.IsScalar() || !is_name(value.Scalar()))
      l.r.error(value, fmt::format("{}: expected the name of a var to set (letters, digits, '_' "
                                   "and '-'), got {}",
                                   label, describe(value)));
    return;
  }
  auto check_literal = [&](const YAML::Node& scalar, const std::string& where) {
    if (scalar.Scalar().find("${") != std::string::npos) return;  // known only at run time
    auto message = literal_problem(spec, scalar.Scalar());
    if (!message.empty()) l.r.error(scalar, fmt::format("{}: {}", where, message));
  };
  if (value.IsScalar()) {
    check_literal(value, label);
  } else if (value.IsSequence() && (!spec.choices.empty() || spec.names != plan::Names::Nothing)) {
    for (size_t i = 0; i < value.size(); ++i)
      check_literal(value[i], fmt::format("{}[{}]", label, i));
  }
}

}  // namespace

void check_params(Loader& l, const YAML::Node& with, const ActionSchema& action,
                  const std::string& context, const std::string& root, const Location& at,
                  RefPlace place) {
  std::vector<std::string> allowed;
  for (const auto& spec : action.params) allowed.push_back(spec.name);
  bool is_map = with.IsDefined() && with.IsMap();
  if (with.IsDefined() && !with.IsNull() && !is_map) {
    l.r.error(with, fmt::format("{}: {}: expected a map of parameters, got {}", context, root,
                                describe(with)));
    return;
  }
  std::set<std::string> seen;
  if (is_map) {
    for (const auto& kv : with) {
      if (!kv.first.IsScalar()) {
        l.r.error(kv.first, fmt::format("{}: {}: parameter names must be text", context, root));
        continue;
      }
      std::string key = kv.first.Scalar();
      std::string label = fmt::format("{}: {}.{}", context, root, key);
      auto spec = std::find_if(action.params.begin(), action.params.end(),
                               [&](const ParamSpec& p) { return p.name == key; });
      if (spec == action.params.end()) {
        auto hint = suggestion(key, allowed);
        if (hint.empty())
          hint = allowed.empty() ? " (it takes no parameters)"
                                 : fmt::format(" (parameters: {})", join(allowed));
        l.r.error(kv.first, fmt::format("{}: unknown parameter '{}' for {}{}", context, key,
                                        action.name, hint));
        check_refs(l, kv.second, label, place);
        continue;
      }
      if (!seen.insert(key).second) {
        l.r.error(kv.first, fmt::format("{}: duplicate parameter '{}'", context, key));
        continue;
      }
      if (kv.second.IsNull()) continue;  // counts as absent
      check_value(l, *spec, kv.second, label);
      if (!spec->sets_var) check_refs(l, kv.second, label, place);
    }
  }
  for (const auto& spec : action.params) {
    if (!spec.required) continue;
    bool present = is_map && with[spec.name].IsDefined() && !with[spec.name].IsNull();
    if (!present)
      l.r.error(is_map ? l.r.where(with) : at,
                fmt::format("{}: {} needs parameter '{}'", context, action.name, spec.name));
  }
  if (action.validate) {
    // The action's messages name the parameter; the step is added here, as for the others.
    auto& out = l.r.diagnostics();
    size_t before = out.size();
    ParamCheck check(l.r.file(), with, at, out);
    try {
      action.validate(check);
    } catch (const YAML::Exception& e) {
      // A value of a shape the check did not expect ({[a]: 1} where a key must be text):
      // said where it is, not as an internal error.
      Location where = at;
      if (!e.mark.is_null()) where = Location{l.r.file(), e.mark.line + 1, e.mark.column + 1};
      out.push_back({where, fmt::format("{}: a parameter value here has an unexpected shape ({})", context,
                                        e.msg.empty() ? e.what() : e.msg)});
    }
    for (size_t i = before; i < out.size(); ++i)
      if (!out[i].message.starts_with(context)) out[i].message = context + ": " + out[i].message;
  }
}

}  // namespace rollback::plan::detail
