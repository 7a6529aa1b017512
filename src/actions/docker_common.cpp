// Shared plumbing of the docker.* actions (include/rollback/actions/docker_common.hpp).
#include <rollback/util/text.hpp>
#include <rollback/actions/docker_common.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/docker_images.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::docker {
namespace {

std::mutex g_compose_mutex;
std::optional<std::vector<std::string>> g_compose_cli;  // without --context

// Read-only answers from the engine ("the daemon answers", "image X is present") that every
// docker step's preflight and run asks again: within a few seconds of a yes, a yes is taken
// as still true. A no is never remembered.
constexpr auto kConfirmedFor = std::chrono::seconds(10);
std::mutex g_confirmed_mutex;
std::map<std::string, std::chrono::steady_clock::time_point> g_confirmed;

bool recently_confirmed(const std::string& key) {
  std::lock_guard lock(g_confirmed_mutex);
  auto it = g_confirmed.find(key);
  return it != g_confirmed.end() && std::chrono::steady_clock::now() - it->second < kConfirmedFor;
}

void confirm(const std::string& key) {
  std::lock_guard lock(g_confirmed_mutex);
  g_confirmed[key] = std::chrono::steady_clock::now();
}

// Where docker looks for CLI plugins: without a docker-compose there, `docker compose`
// cannot answer and asking it costs a process start for nothing.
bool compose_plugin_installed() {
  std::vector<std::filesystem::path> dirs{"/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
                                          "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins"};
  if (const char* config = std::getenv("DOCKER_CONFIG"); config && *config)
    dirs.emplace_back(std::filesystem::path(config) / "cli-plugins");
  else if (const char* home = std::getenv("HOME"); home && *home)
    dirs.emplace_back(std::filesystem::path(home) / ".docker" / "cli-plugins");
  std::error_code ec;
  for (const auto& dir : dirs)
    if (std::filesystem::exists(dir / "docker-compose", ec)) return true;
  return false;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The docker CLI, docker-compose v1 and the daemon each word "cannot reach the daemon"
// differently; all of them mean the same thing to an operator.
bool daemon_unreachable(std::string_view text) {
  return contains(text, "Cannot connect to the Docker daemon") ||
         contains(text, "Couldn't connect to Docker daemon") ||
         contains(text, "Is the docker daemon running") || contains(text, "error during connect") ||
         contains(text, "connect: no such file or directory") ||
         contains(text, "connect: connection refused");
}

bool image_missing(std::string_view text) {
  return contains(text, "No such image") || contains(text, "Unable to find image") ||
         contains(text, "pull access denied") || contains(text, "manifest unknown");
}

}  // namespace

std::vector<ParamSpec> with_engine(std::vector<ParamSpec> params) {
  params.push_back(param("context").names(plan::Names::Identifier)
                       .doc("the docker context to use (--context; default: the current one)"));
  params.push_back(param("host").names(plan::Names::Identifier)
                       .doc("the Docker engine to use, as DOCKER_HOST (default: $DOCKER_HOST or the local socket)"));
  return params;
}

std::vector<std::string> docker_argv(const Params& p) {
  std::vector<std::string> argv{"docker"};
  if (p.has("context")) argv.insert(argv.end(), {"--context", p.str("context")});
  return argv;
}

void forget_compose_cli() {
  {
    std::lock_guard lock(g_compose_mutex);
    g_compose_cli.reset();
  }
  std::lock_guard lock(g_confirmed_mutex);
  g_confirmed.clear();
}

Result<std::vector<std::string>> compose_argv(ActionContext& ctx, const Params& p) {
  std::vector<std::string> base;
  {
    std::lock_guard lock(g_compose_mutex);
    if (!g_compose_cli) {
      proc::Command probe;
      probe.argv = {"docker", "compose", "version"};
      probe.timeout = Millis(15'000);
      auto v2 = compose_plugin_installed() ? ctx.runner.run(probe) : fail("no compose plugin");
      if (v2 && v2->succeeded()) {
        g_compose_cli = std::vector<std::string>{"docker", "compose"};
      } else {
        // Found on PATH, not run: v1 is a Python program that takes a third of a second
        // to print its version, and a broken install fails the first real command with
        // its own message anyway.
        if (!proc::program_available("docker-compose"))
          return fail(step_prefix(ctx) +
                      "no Docker Compose found: `docker compose` (v2 plugin) does not answer "
                      "`version` and `docker-compose` (v1) is not on PATH; install one of them");
        g_compose_cli = std::vector<std::string>{"docker-compose"};
      }
    }
    base = *g_compose_cli;
  }
  if (p.has("context")) {
    // v2 is a docker subcommand (the context is docker's option); v1 takes its own.
    base.insert(base.begin() + 1, {"--context", p.str("context")});
  }
  return base;
}

std::string daemon_address(const Params& p) {
  if (p.has("host")) return p.str("host");
  if (p.has("context")) return "context " + p.str("context");
  if (const char* host = std::getenv("DOCKER_HOST"); host && *host) return host;
  return "unix:///var/run/docker.sock";
}

std::string step_prefix(const ActionContext& ctx) {
  return ctx.step_id.empty() ? std::string() : fmt::format("step {}: ", ctx.step_id);
}

Result<proc::Completed> run(ActionContext& ctx, const Params& p, const std::vector<std::string>& argv,
                            const RunOptions& options) {
  proc::Command command;
  command.argv = argv;
  if (p.has("host")) command.env["DOCKER_HOST"] = p.str("host");
  command.cwd = options.cwd;
  command.stdout_path = options.stdout_path;
  command.stdin_path = options.stdin_path;
  command.timeout = ctx.remaining(options.cap);
  if (ctx.log && options.log_command) ctx.log("$ " + proc::display_command(argv));
  if (ctx.log && options.log_output)
    command.on_line = [&ctx](proc::Stream, std::string_view line) { ctx.log(line); };
  return ctx.runner.run(command);
}

Error explain(const ActionContext& ctx, const Params& p, std::string_view what,
              const Result<proc::Completed>& done) {
  auto where = step_prefix(ctx);
  if (!done) {
    if (contains(done.error().message, "program not found"))
      return Error{fmt::format("{}{}: {}; is Docker installed?", where, what, done.error().message)};
    return Error{fmt::format("{}{}: {}", where, what, done.error().message)};
  }
  if (done->cancelled) return Error{fmt::format("{}{}: interrupted", where, what)};
  if (done->timed_out)
    return Error{fmt::format("{}{}: {} (the step's time ran out)", where, what, done->outcome()), true};
  std::string text = done->err + "\n" + done->out;
  if (daemon_unreachable(text))
    return Error{fmt::format("{}Docker daemon not reachable at {}: is dockerd running? ({} failed)",
                             where, daemon_address(p), what),
                 true};
  if (image_missing(text))
    return Error{fmt::format("{}{}: image {} is not present locally and cannot be pulled; a "
                             "rollback must not depend on a registry: `docker pull` or "
                             "`docker load` it beforehand ({})",
                             where, what, p.str("image", "(unknown)"), last_error_line(*done))};
  if (contains(text, "no such volume") || contains(text, "No such volume"))
    return Error{fmt::format("{}{}: volume {} does not exist", where, what, p.str("volume"))};
  auto why = telling_error_line(*done);
  return Error{fmt::format("{}{} failed ({}){}{}", where, what, done->outcome(), why.empty() ? "" : ": ",
                           why)};
}

Result<proc::Completed> run_checked(ActionContext& ctx, const Params& p,
                                    const std::vector<std::string>& argv, const RunOptions& options) {
  auto done = run(ctx, p, argv, options);
  if (done && done->succeeded()) return done;
  return std::unexpected(explain(ctx, p, redact(proc::display_command(argv)), done));
}

Outcome to_outcome(const Error& error) { return Outcome::failure(redact(error.message), error.transient); }

Status check_daemon(ActionContext& ctx, const Params& p) {
  auto key = "daemon|" + daemon_address(p);
  if (recently_confirmed(key)) return ok();
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"version", "--format", "{{.Server.Version}}"});
  auto done = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (done && done->succeeded()) {
    confirm(key);
    return ok();
  }
  auto error = explain(ctx, p, "docker version", done);
  if (!error.message.contains("daemon not reachable"))
    error.message = fmt::format("{}Docker daemon not reachable at {}: {}", step_prefix(ctx),
                                daemon_address(p), error.message);
  return std::unexpected(error);
}

Status check_image_present(ActionContext& ctx, const Params& p, const std::string& image) {
  auto key = "image|" + daemon_address(p) + "|" + image;
  if (recently_confirmed(key)) return ok();
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"image", "inspect", "--format", "{{.Id}}", image});
  auto done = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (done && done->succeeded()) {
    confirm("daemon|" + daemon_address(p));
    confirm(key);
    return ok();
  }
  auto error = explain(ctx, p, "docker image inspect " + image, done);
  if (done && done->exit_code == 1 && !error.transient)
    error.message = fmt::format(
        "{}helper image {} is not present locally; a rollback must not depend on a registry: "
        "`docker pull {}` (or `docker load`) before you need it",
        step_prefix(ctx), image, image);
  return std::unexpected(error);
}

Result<bool> volume_exists(ActionContext& ctx, const Params& p, const std::string& volume) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"volume", "inspect", "--format", "{{.Name}}", volume});
  auto done = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (done && done->succeeded()) return true;
  if (done && !done->timed_out &&
      (contains(done->err, "no such volume") || contains(done->err, "No such volume")))
    return false;
  return std::unexpected(explain(ctx, p, "docker volume inspect " + volume, done));
}

std::vector<std::string> output_lines(std::string_view text) { return nonempty_lines(text); }

bool name_selected(std::string_view filter, std::string_view name) {
  if (name.starts_with('/')) name.remove_prefix(1);
  if (filter.empty() || !name.starts_with(filter)) return false;
  auto boundary = [](char c) { return c == '-' || c == '_' || c == '.'; };
  return name.size() == filter.size() || boundary(filter.back()) || boundary(name[filter.size()]);
}

Result<std::vector<SelectedContainer>> select_containers(ActionContext& ctx, const Params& p,
                                                         bool all) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"ps", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}"});
  if (all) argv.push_back("-a");
  if (p.has("project"))
    argv.insert(argv.end(), {"--filter", "label=com.docker.compose.project=" + p.str("project")});
  // docker's own name filter matches any part of a name: it only narrows the listing, the
  // anchored match below decides.
  auto filters = p.list("filter");
  for (const auto& f : filters) argv.insert(argv.end(), {"--filter", "name=" + f});
  auto done = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!done) return std::unexpected(done.error());
  std::vector<SelectedContainer> out;
  for (const auto& line : output_lines(done->out)) {
    auto tab = line.find('\t');
    SelectedContainer c{line.substr(0, tab), tab == std::string::npos ? "" : line.substr(tab + 1)};
    // Names lists a legacy link's aliases too ("db,web/db"): the first is the container's own.
    c.name = c.name.substr(0, c.name.find(','));
    bool selected = filters.empty();
    for (const auto& f : filters) selected = selected || name_selected(f, c.name);
    if (selected) out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<std::string>> list_containers(ActionContext& ctx, const Params& p, bool all) {
  auto selected = select_containers(ctx, p, all);
  if (!selected) return std::unexpected(selected.error());
  std::vector<std::string> ids;
  for (const auto& c : *selected) ids.push_back(c.id);
  return ids;
}

std::string selection(const Params& p) {
  std::string text;
  if (p.has("project")) text = "project " + p.str("project");
  for (const auto& f : p.list("filter")) text += (text.empty() ? "name~" : ", name~") + f;
  return text;
}

void validate_selection(ParamCheck& check) {
  if (!check.has("project") && !check.has("filter"))
    check.error_at_step("needs `project` (a compose project) or `filter` (a container name filter)");
}

bool ContainerState::up() const {
  return status == "running" && !restarting && (health.empty() || health == "healthy");
}

std::string ContainerState::describe() const {
  std::string text = restarting ? "restarting" : status;
  if (!health.empty() && status == "running") text += fmt::format(" (health: {})", health);
  if (restarts > 0) text += fmt::format(", {} restarts", restarts);
  return text;
}

Result<std::vector<ContainerState>> inspect_containers(ActionContext& ctx, const Params& p,
                                                       const std::vector<std::string>& ids) {
  std::vector<ContainerState> states;
  if (ids.empty()) return states;
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"inspect", "--type", "container"});
  argv.insert(argv.end(), ids.begin(), ids.end());
  auto done = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!done) return std::unexpected(done.error());
  nlohmann::json parsed = nlohmann::json::parse(done->out, nullptr, false);
  if (!parsed.is_array())
    return fail(fmt::format("{}docker inspect printed something that is not a JSON array", step_prefix(ctx)));
  for (const auto& c : parsed) {
    ContainerState s;
    s.id = c.value("Id", "");
    s.name = c.value("Name", "");
    if (s.name.starts_with('/')) s.name.erase(0, 1);
    const auto& state = c.contains("State") ? c["State"] : nlohmann::json::object();
    s.status = state.value("Status", "");
    s.restarting = state.value("Restarting", false) || s.status == "restarting";
    if (state.contains("Health") && state["Health"].is_object())
      s.health = state["Health"].value("Status", "");
    s.started_at = state.value("StartedAt", "");
    s.created_at = c.value("Created", "");
    s.restarts = c.value("RestartCount", 0LL);
    if (c.contains("Config") && c["Config"].contains("Labels") && c["Config"]["Labels"].is_object())
      s.service = c["Config"]["Labels"].value("com.docker.compose.service", "");
    states.push_back(std::move(s));
  }
  return states;
}

}  // namespace rollback::actions::docker
