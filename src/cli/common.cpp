#include <rollback/cli/common.hpp>

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <rollback/actions/action.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/trust.hpp>

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
  // ./plans only for a user who is not root: root (cron, sudo) never runs plans from
  // wherever it happens to stand, a folder anyone could have made (/tmp/plans).
  if (::geteuid() != 0 && fs::is_directory("plans", ec)) return {"plans"};
  return {"/etc/rollback/plans", "/usr/share/rollback/plans"};
}

std::string untrusted_input(const fs::path& path, const GlobalOptions& options, std::string_view what) {
  if (options.trust_plans_dir) return "";
  auto why = untrusted_reason(path, ::geteuid());
  if (why.empty()) return "";
  return fmt::format("refusing {} {}: {}. Whatever it says would run as {}. Keep plans and vars files in a folder "
                     "that only you (or root) can write, such as a root-owned /etc/rollback/plans, and name it with "
                     "--plans-dir; --trust-plans-dir reads it anyway (dangerous: a plan runs any command it names)",
                     what, path.string(), why, owner_text(::geteuid()));
}

namespace {

fs::path chosen_state_dir(const GlobalOptions& options) {
  if (!options.state_dir.empty()) return options.state_dir;
  if (auto env = env_or_empty("ROLLBACK_STATE"); !env.empty()) return env;
  if (auto xdg = env_or_empty("XDG_STATE_HOME"); !xdg.empty()) return fs::path(xdg) / "rollback";
  if (::geteuid() == 0) return "/var/lib/rollback";
  auto home = env_or_empty("HOME");
  // No shared fallback such as /tmp/rollback-state: anyone could have made it first.
  if (home.empty()) return {};
  return fs::path(home) / ".local" / "state" / "rollback";
}

}  // namespace

fs::path state_dir(const GlobalOptions& options) {
  auto dir = chosen_state_dir(options);
  if (dir.empty()) {
    print_error("no state dir: HOME is not set; pass --state-dir DIR or set ROLLBACK_STATE");
    throw Refused("no state dir");
  }
  std::error_code ec;
  dir = fs::absolute(dir, ec).lexically_normal();
  if (auto why = unsafe_state_dir_reason(dir, ::geteuid()); !why.empty()) {
    print_error(fmt::format("refusing state dir {}: {}. It holds the run lock, journals and reports of runs as {}; "
                            "use one that only you can write (--state-dir or ROLLBACK_STATE)",
                            dir.string(), why, owner_text(::geteuid())));
    throw Refused("unsafe state dir");
  }
  return dir;
}

bool vars_file_trusted(const std::string& vars_file, const GlobalOptions& options) {
  if (vars_file.empty()) return true;
  auto refused = untrusted_input(vars_file, options, "vars file");
  if (!refused.empty()) print_error(refused);
  return refused.empty();
}

std::optional<plan::Plan> load_plan_or_report(const std::string& name_or_path,
                                              const GlobalOptions& options) {
  auto path = plan::find_plan(name_or_path, plan_search_path(options));
  if (!path) {
    std::error_code ec;
    bool skipped_here = ::geteuid() == 0 && options.plans_dir.empty() && fs::is_directory("plans", ec);
    print_error(path.error().message +
                (skipped_here ? "; ./plans was not searched: as root, plans are read only from --plans-dir, "
                                "$ROLLBACK_PLANS, /etc/rollback/plans or /usr/share/rollback/plans"
                              : ""));
    return std::nullopt;
  }
  if (auto refused = untrusted_input(*path, options, "plan"); !refused.empty()) {
    print_error(refused);
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
