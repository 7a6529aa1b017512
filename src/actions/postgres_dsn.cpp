// DSN parsing and display for the pg.* actions.
#include <rollback/util/text.hpp>
#include <rollback/actions/postgres.hpp>

#include <algorithm>
#include <charconv>
#include <vector>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <libpq-fe.h>

#include <rollback/util/redact.hpp>

namespace rollback::actions::pg {
namespace {

// libpq's key=value quoting: single quotes, backslash-escaped ' and \.
std::string quote_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// libpq's parse errors quote the text they choke on, which may be a piece of a password:
// only the kind of problem and the option it concerns are kept.
std::string parse_problem(const std::string& why) {
  static const std::regex option(R"re(for connection option "([a-z_]+)")re");
  std::smatch m;
  if (std::regex_search(why, m, option)) return fmt::format("an invalid value for option {}", m[1].str());
  if (why.find("invalid URI") != std::string::npos || why.find("URI") != std::string::npos)
    return "an invalid postgresql:// URI";
  if (why.find("missing \"=\"") != std::string::npos) return "a key without '=' in key=value form";
  if (why.find("unterminated quoted string") != std::string::npos) return "an unterminated quoted value";
  if (why.find("invalid connection option") != std::string::npos) return "an unknown connection option";
  return "libpq cannot read it";
}

// libpq checks these values only when it connects, and then reports an unusable DSN as a
// server that "does not respond". The value is never quoted: in a URI whose password holds
// an unencoded ':' or '@', what libpq reads as the port is a piece of that password.
std::string invalid_option(const std::string& key, const std::string& value) {
  static const std::map<std::string, std::vector<std::string>> choices = {
      {"sslmode", {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}},
      {"gssencmode", {"disable", "prefer", "require"}},
      {"target_session_attrs", {"any", "read-write", "read-only", "primary", "standby", "prefer-standby"}},
  };
  auto is_integer = [](std::string_view v, long low, long high) {
    long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return !v.empty() && ec == std::errc() && end == v.data() + v.size() && n >= low && n <= high;
  };
  if (key == "port") {
    std::string_view rest = value;  // one per host, comma-separated; an empty one means the default
    while (true) {
      auto comma = rest.find(',');
      auto part = rest.substr(0, comma);
      if (!part.empty() && !is_integer(part, 1, 65535)) return "option port is not a port number (1-65535)";
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else if (key == "connect_timeout" && !is_integer(value, 0, 1L << 30)) {
    return "option connect_timeout is not a whole number of seconds";
  } else if (auto it = choices.find(key); it != choices.end()) {
    if (std::find(it->second.begin(), it->second.end(), value) == it->second.end())
      return fmt::format("option {} is not one of {}", key, fmt::join(it->second, ", "));
  }
  return {};
}

}  // namespace

std::string redact_dsn(std::string_view text) {
  static const std::regex uri_password(R"(^(postgres(?:ql)?://[^:@/?]*:)([^@/?]*)@)");
  static const std::regex kv_password(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+))");
  std::string s(text);
  s = std::regex_replace(s, uri_password, "$1***@", std::regex_constants::format_first_only);
  s = std::regex_replace(s, kv_password, "$1***");
  return redact(s);
}

Result<Dsn> parse_dsn(std::string_view text) {
  Dsn dsn;
  dsn.display = redact_dsn(text);
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(std::string(text).c_str(), &err);
  if (!parsed) {
    std::string why = err ? trim(err) : "out of memory";
    if (err) PQfreemem(err);
    return fail("invalid PostgreSQL DSN, it does not parse: " + parse_problem(why) +
                " (the DSN is not shown: it may hold a password; in a postgresql:// URI, a password with @ : / ? "
                "must be percent-encoded, which ${secrets.NAME} is)");
  }
  std::string problem;
  for (auto* o = parsed; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string key = o->keyword;
    if (problem.empty()) problem = invalid_option(key, o->val);
    if (key == "password") {
      dsn.password = o->val;
    } else {
      dsn.options[key] = o->val;
    }
  }
  PQconninfoFree(parsed);
  if (!dsn.password.empty()) {
    register_secret(dsn.password);
    // Re-render: the URI form may carry the password percent-encoded.
    dsn.display = redact_dsn(text);
  }
  if (!problem.empty())
    return fail("invalid PostgreSQL DSN: " + problem +
                " (the DSN is not shown: it may hold a password; in a postgresql:// URI, a password with @ : / ? "
                "must be percent-encoded, which ${secrets.NAME} is)");
  auto get = [&](const char* key, const char* env, std::string fallback) {
    auto it = dsn.options.find(key);
    return it != dsn.options.end() ? it->second : env_or(env, std::move(fallback));
  };
  std::string user = get("user", "PGUSER", env_or("USER", "postgres"));
  std::string host = get("host", "PGHOST", "localhost");
  if (host.starts_with("/")) host = "socket " + host;
  dsn.where = fmt::format("{}:{}/{}", host, get("port", "PGPORT", "5432"),
                          get("dbname", "PGDATABASE", user));
  return dsn;
}

std::string Dsn::conninfo(const std::map<std::string, std::string>& extra) const {
  std::string out;
  auto add = [&](const std::string& k, const std::string& v) {
    if (!out.empty()) out += ' ';
    out += k + "=" + quote_value(v);
  };
  for (const auto& [k, v] : options) {
    if (!extra.contains(k)) add(k, v);
  }
  for (const auto& [k, v] : extra) add(k, v);
  if (!password.empty()) add("password", password);
  return out;
}

std::string Dsn::conninfo_for_argv() const {
  Dsn copy = *this;
  copy.password.clear();
  return copy.conninfo();
}

std::map<std::string, std::string> Dsn::child_env() const {
  std::map<std::string, std::string> env;
  if (!password.empty()) env["PGPASSWORD"] = password;
  return env;
}

}  // namespace rollback::actions::pg
