// `${...}` substitution. One pass, left to right: a substituted value is never scanned
// again, so a secret or a var whose value contains "${x}" stays literal. `$${` writes a
// literal "${".
//
// Names: `name` (plan var, --var/--vars override, or a value set by an earlier step's
// `into:`), `env.NAME`, `secrets.NAME`, `target.name`, `target.path`, `run.id`,
// `run.started`.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <rollback/plan/params.hpp>
#include <rollback/util/result.hpp>

namespace rollback::plan {

// The names a run can use. Thread-safe: the members of a `parallel:` group set and read
// vars from their own threads, so every access takes the scope's lock (and vars() hands out
// a copy, not a reference into a map another thread may be changing).
class Scope {
 public:
  Scope() = default;
  Scope(const Scope& other);
  Scope& operator=(const Scope& other);

  void set_var(const std::string& name, std::string value);
  void set_secret(const std::string& name, std::string value);  // also registers for redaction
  void set_builtin(const std::string& dotted, std::string value);

  // The value of a reference such as "backups", "env.HOME", "secrets.token", "run.id";
  // nullopt when it is not defined.
  std::optional<std::string> lookup(std::string_view ref) const;
  bool is_secret_ref(std::string_view ref) const { return ref.starts_with("secrets."); }
  std::map<std::string, std::string> vars() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> vars_;
  std::map<std::string, std::string> secrets_;
  std::map<std::string, std::string> builtins_;  // target.*, run.*
};

// One `${...}` occurrence: its trimmed name and the offset of its "${" in the text.
struct Reference {
  std::string name;
  size_t offset = 0;
};

// Every reference in `text`, in order, with offsets (the loader turns them into columns).
// Scanning stops at the first malformed one: `error` says what ("unclosed \"${\"") and
// `error_offset` where it starts.
struct ReferenceScan {
  std::vector<Reference> refs;
  std::string error;
  size_t error_offset = 0;
};
ReferenceScan scan_references(std::string_view text);

// The references in `text`, in order ("${a} ${env.B}" -> {"a", "env.B"}); an unclosed
// "${" is returned as an error message.
Result<std::vector<std::string>> references(std::string_view text);

// Substitutes every reference. Fails naming the first undefined one. A ${secrets.x} inside
// a URL's authority (postgresql://u:${secrets.pw}@host/db) is percent-encoded.
Result<std::string> interpolate(std::string_view text, const Scope& scope);

// Resolves a step's `with:` against the scope and the action's parameters into typed
// Params. Errors name the parameter ("with.url: undefined variable ${api}"); a parameter
// that names something (ParamSpec::names) and comes out empty or blank is an error naming
// the vars it came from ("with.project: is empty (from ${project})").
Result<Params> resolve_params(const YAML::Node& with, const Scope& scope,
                              const std::vector<ParamSpec>& params);

// "true"/"yes"/"1"/"on" (any case) are truthy; "", "false", "no", "0", "off" are not.
bool truthy(std::string_view value);

}  // namespace rollback::plan
