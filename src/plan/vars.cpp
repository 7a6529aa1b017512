// Vars, overrides and secrets into the run's Scope.
#include <rollback/util/text.hpp>
#include <rollback/plan/vars.hpp>

#include <fmt/format.h>
#include <cstdlib>
#include <functional>

#include <rollback/plan/loader.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::plan {
namespace {

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : "\n") + line;
  return out;
}

enum class Bound { Unvisited, Visiting, Done, NeedsTarget, Failed };

}  // namespace

Status bind_vars(const Plan& plan, Scope& scope,
                 const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> problems;
  std::map<std::string, YAML::Node> declared;
  std::vector<std::string> names;
  for (const auto& [name, value] : plan.vars) {
    declared[name] = value;
    names.push_back(name);
  }
  for (const auto& [name, value] : overrides) {
    if (declared.count(name)) continue;
    auto best = did_you_mean(name, names);
    problems.push_back(fmt::format("--var {}=...: plan '{}' has no var '{}'{}", name, plan.name,
                                   name,
                                   best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best)));
  }
  if (!problems.empty()) return fail(join_lines(problems));

  const bool has_target = scope.lookup("target.name").has_value();
  const std::string file = plan.path.string();
  std::map<std::string, Bound> state;
  std::function<Bound(const std::string&)> bind = [&](const std::string& name) -> Bound {
    Bound& current = state[name];
    if (current == Bound::Visiting) {
      problems.push_back(fmt::format("{}: vars.{}: cycle between vars",
                                     location_of(file, declared[name]).str(), name));
      return current = Bound::Failed;
    }
    if (current != Bound::Unvisited) return current;
    if (auto it = overrides.find(name); it != overrides.end()) {
      scope.set_var(name, it->second);
      return current = Bound::Done;
    }
    current = Bound::Visiting;
    const YAML::Node& node = declared[name];
    std::string text = node.IsScalar() ? node.Scalar() : "";
    Bound result = Bound::Done;
    for (const auto& ref : scan_references(text).refs) {
      if (ref.name.starts_with("target.") && !has_target) result = Bound::NeedsTarget;
      if (!declared.count(ref.name)) continue;
      Bound dep = bind(ref.name);
      if (dep == Bound::Failed) result = Bound::Failed;
      if (dep == Bound::NeedsTarget && result == Bound::Done) result = Bound::NeedsTarget;
    }
    if (result == Bound::Done) {
      auto value = interpolate(text, scope);
      if (value) {
        scope.set_var(name, std::move(*value));
      } else {
        problems.push_back(fmt::format("{}: vars.{}: {}", location_of(file, node).str(), name,
                                       value.error().message));
        result = Bound::Failed;
      }
    }
    return state[name] = result;
  };
  for (const auto& name : names) bind(name);
  if (!problems.empty()) return fail(join_lines(problems));
  return ok();
}

Status load_secrets(const Plan& plan, Scope& scope) {
  std::vector<std::string> problems;
  for (const auto& secret : plan.secrets) {
    std::string value;
    if (!secret.env.empty()) {
      const char* env = std::getenv(secret.env.c_str());
      if (!env) {
        problems.push_back(fmt::format("secret '{}': environment variable {} is not set",
                                       secret.name, secret.env));
        continue;
      }
      value = env;
      if (value.empty()) {
        problems.push_back(
            fmt::format("secret '{}': environment variable {} is empty", secret.name, secret.env));
        continue;
      }
    } else {
      auto path = interpolate(secret.file, scope);
      if (!path) {
        problems.push_back(fmt::format("secret '{}': file {}: {}", secret.name, secret.file,
                                       path.error().message));
        continue;
      }
      auto content = read_file(*path);
      if (!content) {
        problems.push_back(fmt::format("secret '{}': {}", secret.name, content.error().message));
        continue;
      }
      value = std::move(*content);
      // Files written by `echo` end with a newline that is not part of the secret.
      if (value.ends_with('\n')) value.pop_back();
      if (value.ends_with('\r')) value.pop_back();
      if (value.empty()) {
        problems.push_back(fmt::format("secret '{}': file {} is empty", secret.name, *path));
        continue;
      }
    }
    if (value.size() < kShortestSecret) {
      // Only known now: the value comes from the environment or a file at run time.
      problems.push_back(fmt::format(
          "{}: secret '{}': its value ({}) is shorter than {} characters; a secret is masked wherever it "
          "appears in output, and masking so short a value would mangle ordinary words in every report, "
          "journal and log (\"e***it 4\" for \"exit 4\"): use a longer secret",
          secret.where.str(), secret.name,
          secret.env.empty() ? "file " + secret.file : "environment variable " + secret.env, kShortestSecret));
      continue;
    }
    scope.set_secret(secret.name, std::move(value));
  }
  if (!problems.empty()) return fail(join_lines(problems));
  return ok();
}

Result<std::map<std::string, std::string>> load_vars_file(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return fail(fmt::format("--vars: {}", text.error().message));
  const std::string file = path.string();
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return fail(fmt::format("{}:{}:{}: YAML syntax error: {}", file, e.mark.line + 1,
                            e.mark.column + 1, e.msg));
  }
  std::map<std::string, std::string> vars;
  if (!root.IsDefined() || root.IsNull()) return vars;
  if (!root.IsMap())
    return fail(
        fmt::format("{}: expected a map of var names to values", location_of(file, root).str()));
  std::vector<std::string> problems;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) {
      problems.push_back(
          fmt::format("{}: var names must be text", location_of(file, kv.first).str()));
      continue;
    }
    const std::string& name = kv.first.Scalar();
    if (kv.second.IsNull()) {
      vars[name] = "";
    } else if (kv.second.IsScalar()) {
      vars[name] = kv.second.Scalar();
    } else {
      problems.push_back(fmt::format("{}: {}: expected a text value, got a {}",
                                     location_of(file, kv.second).str(), name,
                                     kv.second.IsMap() ? "map" : "list"));
    }
  }
  if (!problems.empty()) return fail(join_lines(problems));
  return vars;
}

Status parse_var_override(const std::string& text, std::map<std::string, std::string>& into) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return fail(fmt::format("--var {}: expected KEY=VALUE", eq == 0 ? "=..." : text));
  into[text.substr(0, eq)] = text.substr(eq + 1);
  return ok();
}

}  // namespace rollback::plan
