#include <rollback/cli/common.hpp>

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <rollback/actions/action.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {
std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}
}  // namespace

std::vector<fs::path> plan_search_path(const GlobalOptions& options) {
  if (!options.plans_dir.empty()) return {options.plans_dir};
  if (auto env = env_or_empty("ROLLBACK_PLANS"); !env.empty()) return {env};
  std::error_code ec;
  if (fs::is_directory("plans", ec)) return {"plans"};
  return {"/etc/rollback/plans", "/usr/share/rollback/plans"};
}

fs::path state_dir(const GlobalOptions& options) {
  if (!options.state_dir.empty()) return options.state_dir;
  if (auto env = env_or_empty("ROLLBACK_STATE"); !env.empty()) return env;
  if (auto xdg = env_or_empty("XDG_STATE_HOME"); !xdg.empty()) return fs::path(xdg) / "rollback";
  if (::geteuid() == 0) return "/var/lib/rollback";
  auto home = env_or_empty("HOME");
  if (home.empty()) return "/tmp/rollback-state";
  return fs::path(home) / ".local" / "state" / "rollback";
}

std::optional<plan::Plan> load_plan_or_report(const std::string& name_or_path,
                                              const GlobalOptions& options) {
  auto path = plan::find_plan(name_or_path, plan_search_path(options));
  if (!path) {
    print_error(path.error().message);
    return std::nullopt;
  }
  auto loaded = plan::load_plan(*path, actions::builtin_registry());
  for (const auto& diagnostic : loaded.diagnostics)
    std::fprintf(stderr, "%s\n", redact(diagnostic.str()).c_str());
  if (!loaded.plan) {
    std::fprintf(stderr, "%zu error(s) in %s; nothing ran\n", loaded.diagnostics.size(),
                 path->c_str());
    return std::nullopt;
  }
  return std::move(loaded.plan);
}

std::string login_name() {
  if (auto user = env_or_empty("SUDO_USER"); !user.empty()) return user;
  if (const char* login = ::getlogin(); login && *login) return login;
  if (auto* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) return pw->pw_name;
  if (auto user = env_or_empty("USER"); !user.empty()) return user;
  return "unknown";
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

namespace {
std::vector<std::string> g_errors;
bool g_json_emitted = false;
}  // namespace

void print_error(const std::string& message) {
  auto clean = redact(message);
  g_errors.push_back(clean);
  std::fprintf(stderr, "error: %s\n", clean.c_str());
}

void emit_json(const nlohmann::json& document) {
  std::printf("%s\n", redact(document.dump(2)).c_str());
  std::fflush(stdout);
  g_json_emitted = true;
}

void emit_json_line(const nlohmann::json& document) {
  std::printf("%s\n", redact(document.dump()).c_str());
  std::fflush(stdout);
  g_json_emitted = true;
}

bool json_emitted() { return g_json_emitted; }
const std::vector<std::string>& printed_errors() { return g_errors; }

}  // namespace rollback::cli
