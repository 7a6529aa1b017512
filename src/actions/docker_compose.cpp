// docker.compose: the runbooks' `docker-compose down --remove-orphans`, `up -d`, `ps`,
// `logs --tail=50`. `up` with `wait` checks the real state of every service afterwards
// (running, not restarting, healthy when it has a healthcheck, up for `settle`),
// because "the command returned 0" is not "the service is up" (field lesson 10).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_compose_file.hpp>
#include <rollback/actions/docker_rehearse.hpp>
#include <rollback/actions/docker_images.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/time.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The compose CLI with the project-level options: -f, -p, --env-file. An override file
// (`pin`'s) comes after the compose file, which is then named explicitly.
std::vector<std::string> project_options(const Params& p, const std::optional<fs::path>& override_file = {}) {
  std::vector<std::string> args;
  if (p.has("file")) args.insert(args.end(), {"-f", p.str("file")});
  else if (override_file)
    if (auto file = compose_file_of(p)) args.insert(args.end(), {"-f", file->string()});
  if (override_file) args.insert(args.end(), {"-f", override_file->string()});
  if (p.has("project")) args.insert(args.end(), {"-p", p.str("project")});
  if (p.has("env_file")) args.insert(args.end(), {"--env-file", p.str("env_file")});
  return args;
}

std::vector<std::string> command_args(const Params& p) {
  auto command = p.str("command", "ps");
  auto services = p.list("services");
  std::vector<std::string> args{command};
  if (command == "up") {
    args.push_back("-d");
    if (p.flag("remove_orphans")) args.push_back("--remove-orphans");
  } else if (command == "down") {
    if (p.flag("remove_orphans")) args.push_back("--remove-orphans");
    if (p.flag("volumes")) args.push_back("--volumes");
    services.clear();  // `down` acts on the whole project
  } else if (command == "logs") {
    args.push_back("--no-color");
    if (p.has("tail")) args.push_back("--tail=" + p.str("tail"));
  }
  // A service named "-v" must stay a service name.
  if (!services.empty()) args.push_back("--");
  args.insert(args.end(), services.begin(), services.end());
  return args;
}

Result<std::vector<std::string>> full_argv(ActionContext& ctx, const Params& p,
                                           const std::vector<std::string>& args,
                                           const std::optional<fs::path>& override_file = {}) {
  auto argv = compose_argv(ctx, p);
  if (!argv) return argv;
  auto options = project_options(p, override_file);
  argv->insert(argv->end(), options.begin(), options.end());
  argv->insert(argv->end(), args.begin(), args.end());
  return argv;
}

RunOptions in_project_dir(const Params& p, Millis cap = Millis(0)) {
  RunOptions options{.cap = cap};
  if (p.has("dir")) options.cwd = fs::path(p.str("dir"));
  return options;
}

// How long `wait` may poll: a duration, or `true` for the rest of the step (2 minutes when
// the step has no timeout, so a bad start cannot hang a run forever).
Millis wait_budget(const ActionContext& ctx, const Params& p) {
  const auto& raw = p.raw("wait");
  if (raw.is_boolean()) return raw.get<bool>() ? ctx.remaining(Millis(120'000)) : Millis(0);
  auto text = p.str("wait");
  if (auto d = parse_duration(text)) return ctx.remaining(*d);
  return plan::truthy(text) ? ctx.remaining(Millis(120'000)) : Millis(0);
}

struct ServiceView {
  std::vector<ContainerState> containers;
  bool up() const {
    if (containers.empty()) return false;
    for (const auto& c : containers)
      if (!c.up()) return false;
    return true;
  }
  std::string describe() const {
    if (containers.empty()) return "no container";
    std::string text;
    for (const auto& c : containers) text += (text.empty() ? "" : ", ") + c.describe();
    return text;
  }
};

Result<std::map<std::string, ServiceView>> observe(ActionContext& ctx, const Params& p,
                                                   const std::vector<std::string>& services) {
  // With a project name, the engine's own label filter finds the containers: one fast
  // `docker ps` per poll instead of a compose invocation (docker-compose v1 is a Python
  // program that takes most of a second just to start).
  Result<proc::Completed> ids = fail("");
  if (!p.str("project").empty()) {
    auto argv = docker_argv(p);
    argv.insert(argv.end(), {"ps", "-aq", "--filter", "label=com.docker.compose.project=" + p.str("project")});
    ids = run_checked(ctx, p, argv, {.cap = kShortCommand});
  } else {
    std::vector<std::string> args{"ps", "-q"};
    if (!services.empty()) args.push_back("--");
    args.insert(args.end(), services.begin(), services.end());
    auto argv = full_argv(ctx, p, args);
    if (!argv) return std::unexpected(argv.error());
    ids = run_checked(ctx, p, *argv, in_project_dir(p, kShortCommand));
  }
  if (!ids) return std::unexpected(ids.error());
  auto states = inspect_containers(ctx, p, output_lines(ids->out));
  if (!states) return std::unexpected(states.error());
  std::map<std::string, ServiceView> view;
  for (const auto& s : services) view[s];
  for (auto& c : *states)
    if (view.contains(c.service)) view[c.service].containers.push_back(std::move(c));
  return view;
}

// `config --services` names what `up` brings up. It only reads the compose files, so it
// runs alongside `up` instead of after it: docker-compose v1 takes a third of a second just
// to start, and this sits on the critical path of every rollback.
class ServiceListing {
 public:
  Status start(ActionContext& ctx, const Params& p) {
    auto argv = full_argv(ctx, p, {"config", "--services"});
    if (!argv) return std::unexpected(argv.error());
    argv_ = std::move(*argv);
    if (ctx.log) ctx.log("$ " + proc::display_command(argv_));
    auto options = in_project_dir(p, kShortCommand);
    options.log_output = false;
    options.log_command = false;
    pending_ = std::async(std::launch::async, [&ctx, &p, this, options] { return run(ctx, p, argv_, options); });
    return ok();
  }
  bool running() const { return pending_.valid(); }
  Result<std::vector<std::string>> get(ActionContext& ctx, const Params& p) {
    auto done = pending_.get();
    if (!done || !done->succeeded()) return std::unexpected(explain(ctx, p, redact(proc::display_command(argv_)), done));
    return output_lines(done->out);
  }

 private:
  std::vector<std::string> argv_;
  std::future<Result<proc::Completed>> pending_;
};

// A container counts once it is up and has stayed up for `settle`: by the engine's own
// StartedAt, or, when the two clocks disagree (a remote engine), by what the polls saw. A
// restart resets both, so a crash-looping container, "running" between two crashes, never
// counts; neither does a healthy one that restarted since the previous poll.
struct Settling {
  std::string started_at;
  long long restarts = 0;
  Clock::time_point seen_up_since;  // first poll that saw this start up
};

// Whether the container counts on this poll; `restarted` says its restart count moved since
// the previous one, and `ready_in` is lowered to when it will count if it stays up.
bool settled(const ContainerState& c, Settling& s, bool fresh, Millis settle, bool& restarted, Millis& ready_in) {
  auto now = Clock::now();
  restarted = !fresh && s.restarts != c.restarts;
  bool same_start = !fresh && !restarted && s.started_at == c.started_at;
  if (!same_start || !c.up()) s.seen_up_since = now;
  s.started_at = c.started_at;
  s.restarts = c.restarts;
  if (!c.up() || restarted) return false;
  if (now - s.seen_up_since >= settle) return true;
  auto wall_now = std::chrono::system_clock::now();
  auto started = parse_iso_utc(c.started_at);
  if (!started) return false;
  auto age = wall_now - *started;  // the engine's start against our clock (may be skewed)
  if (age >= settle && age < std::chrono::hours(24 * 365)) return true;
  if (age >= Millis(0) && age < settle)
    ready_in = std::min(ready_in, std::chrono::duration_cast<Millis>(settle - age) + Millis(5));
  return false;
}

// Polls until every service is up and settled on `stable` consecutive polls.
Outcome wait_until_up(ActionContext& ctx, const Params& p, const std::vector<std::string>& services,
                      Outcome started) {
  auto budget = wait_budget(ctx, p);
  auto deadline = Clock::now() + budget;
  auto every = p.duration("poll", Millis(150));
  // Up for `settle` by the engine's own start time: a crash-looping container is "running"
  // between two crashes, but never for long since its last start. `stable` adds polls.
  auto settle = p.duration("settle", Millis(500));
  long long needed = std::max(1LL, p.integer("stable", 1));
  long long good = 0;
  std::map<std::string, Settling> seen_before;  // by container id
  std::map<std::string, ServiceView> view;
  std::set<std::string> restarted_services;  // restarted since the previous poll
  std::set<std::string> unsettled_services;  // up, but not yet for `settle` (or restarted)
  while (true) {
    auto seen = observe(ctx, p, services);
    if (!seen) return to_outcome(seen.error());
    view = std::move(*seen);
    bool all_settled = true;
    Millis ready_in = every;  // a poll sooner when all that is missing is uptime
    restarted_services.clear();
    unsettled_services.clear();
    for (const auto& [name, service] : view) {
      all_settled = all_settled && service.up();
      for (const auto& c : service.containers) {
        auto [it, fresh] = seen_before.try_emplace(c.id);
        bool restarted = false;
        bool counts = settled(c, it->second, fresh, settle, restarted, ready_in);
        all_settled = counts && all_settled;
        if (restarted) restarted_services.insert(name);
        if (!counts) unsettled_services.insert(name);
      }
    }
    good = all_settled ? good + 1 : 0;
    if (good >= needed) break;
    if (proc::cancel_requested()) return Outcome::failure(step_prefix(ctx) + "interrupted while waiting");
    if (Clock::now() + every > deadline) {
      auto state_of = [&](const std::string& name, const ServiceView& service) {
        bool restarted = restarted_services.count(name) > 0;
        // "running" between two crashes is not up: the verdict and its observation agree.
        bool unsettled = !restarted && service.up() && unsettled_services.count(name) > 0;
        return std::pair(service.describe() + (restarted ? " (restarted during the wait)"
                                               : unsettled ? fmt::format(" (not yet up for {})", format_duration(settle))
                                                           : ""),
                         service.up() && !restarted && !unsettled);
      };
      std::string states;
      for (const auto& [name, service] : view)
        states += fmt::format("{}{}: {}", states.empty() ? "" : "; ", name, state_of(name, service).first);
      auto outcome = Outcome::failure(
          fmt::format("{}services not up after {}: {}", step_prefix(ctx), format_duration(budget), states),
          true);
      for (const auto& [name, service] : view) {
        auto [text, up] = state_of(name, service);
        outcome.observations.push_back({name, text, up});
      }
      // What the services said while failing to come up is what the operator needs next.
      if (auto argv = full_argv(ctx, p, {"logs", "--no-color", "--tail=20"})) {
        auto logs = run(ctx, p, *argv, {.cap = kShortCommand, .cwd = in_project_dir(p).cwd, .log_output = false});
        if (logs) outcome.log_excerpt = output_excerpt(*logs);
      }
      return outcome;
    }
    std::this_thread::sleep_for(std::min(every, ready_in));
  }
  for (const auto& [name, service] : view)
    started.observations.push_back({name, service.describe(), true});
  started.say("compose.services_up", "; {} service(s) up", {std::to_string(view.size())});
  return started;
}

Outcome run_compose(ActionContext& ctx, const Params& p) {
  if (auto files = check_compose_files(ctx, p); !files) return to_outcome(files.error());
  auto command = p.str("command", "ps");
  std::optional<fs::path> pins;
  if (command == "up") {
    auto written = write_pins(ctx, p);
    if (!written) return to_outcome(written.error());
    pins = *written;
  }
  if (command == "down" || command == "stop") note_images(ctx, p, "from_version");
  auto argv = full_argv(ctx, p, command_args(p), pins);
  if (!argv) return to_outcome(argv.error());
  auto options = in_project_dir(p);
  if (command == "logs" && p.has("to")) {
    fs::path to = p.str("to");
    std::error_code ec;
    if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
    options.stdout_path = to;
    options.log_output = false;
  }
  if (command == "ps" || command == "logs") options.cap = Millis(120'000);
  bool waits = command == "up" && wait_budget(ctx, p).count() > 0;
  ServiceListing listing;
  auto services = p.list("services");
  if (waits && services.empty()) {
    if (auto plain = plain_compose_services(p)) services = std::move(*plain);
    else if (auto started = listing.start(ctx, p); !started) return to_outcome(started.error());
  }
  auto done = run_checked(ctx, p, *argv, options);
  if (!done) return to_outcome(done.error());
  auto outcome = Outcome::success().say("compose.ran", "{} {}",
                                        {p.has("project") ? p.str("project") : p.str("dir", "."), command});
  if (command == "logs" && p.has("to")) outcome.say("compose.logs_to", " -> {}", {p.str("to")});
  outcome.log_excerpt = output_excerpt(*done, 40);
  if (pins) outcome.say("compose.pinned", " (images pinned by {})", {pins->filename().string()});
  if (waits) {
    if (listing.running()) {
      auto listed = listing.get(ctx, p);
      if (!listed) return to_outcome(listed.error());
      services = std::move(*listed);
    }
    outcome = wait_until_up(ctx, p, services, std::move(outcome));
  }
  if (command == "up" && outcome.ok) note_images(ctx, p, "to_version");
  return outcome;
}

Outcome preflight_compose(ActionContext& ctx, const Params& p) {
  if (auto files = check_compose_files(ctx, p); !files) return to_outcome(files.error());
  if (auto cli = compose_argv(ctx, p); !cli) return to_outcome(cli.error());
  if (auto daemon = check_daemon(ctx, p); !daemon) return to_outcome(daemon.error());
  if (p.str("command") != "up") return Outcome::success("compose file present, daemon answering");
  if (auto images = check_up_images(ctx, p); !images) return to_outcome(images.error());
  return Outcome::success("compose file present, daemon answering, every image present");
}

void validate_compose(ParamCheck& check) {
  if (!check.has("dir") && !check.has("file") && !check.has("project"))
    check.error_at_step("docker.compose needs `dir` (or `file`/`project`) to know which stack");
  auto command = check.literal("command").value_or("ps");
  if (check.has("to") && command != "logs") check.error("to", "`to` only applies to command: logs");
  if (check.has("wait") && command != "up") check.error("wait", "`wait` only applies to command: up");
  if (check.has("volumes") && command != "down")
    check.error("volumes", "`volumes` only applies to command: down");
  for (const char* key : {"images_from", "images_env_file", "pull", "pin", "rehearse_map"})
    if (check.has(key) && command != "up") check.error(key, fmt::format("`{}` only applies to command: up", key));
  if (check.has("images_env_file") && !check.has("images_from"))
    check.error("images_env_file", "`images_env_file` goes with `images_from` (the file whose images preflight checks)");
  if (auto wait = check.literal("wait")) {
    auto lower = *wait;
    bool boolean = lower == "true" || lower == "false" || lower == "yes" || lower == "no";
    if (!boolean && !parse_duration(*wait))
      check.error("wait", fmt::format("wait must be true/false or a duration such as 60s, not \"{}\"", *wait));
  }
}

std::string describe_compose(const Params& p) {
  std::vector<std::string> argv{"docker-compose"};
  auto options = project_options(p);
  argv.insert(argv.end(), options.begin(), options.end());
  auto args = command_args(p);
  argv.insert(argv.end(), args.begin(), args.end());
  auto text = proc::display_command(argv);
  if (p.has("to")) text += " > " + p.str("to");
  if (p.has("dir")) text += fmt::format("  (in {})", p.str("dir"));
  if (p.str("command") == "up" && p.has("pin"))
    text += fmt::format("; each service on the image ID recorded in {} (override .rollback-pins.yml)", p.str("pin"));
  if (p.str("command") == "up" && p.has("wait") && p.str("wait") != "false")
    text += fmt::format("; wait until every service is running and healthy ({})", p.str("wait"));
  return text;
}

}  // namespace

void register_compose_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.compose",
      .summary = "run docker compose (v2) or docker-compose (v1) on a project",
      .params = with_engine({param("dir").names(plan::Names::Path)
                     .doc("the stack folder: compose runs there and resolves file and env_file in it (default: cwd)"),
                 param("project").names(plan::Names::Identifier)
                     .doc("the compose project (docker-compose -p); empty or blank is refused"),
                 param("file").names(plan::Names::Path)
                     .doc("the compose file (-f), relative to dir (default: compose's own lookup in dir)"),
                 param("env_file").names(plan::Names::Path)
                     .doc("an env file for the compose file's variables (--env-file), relative to dir"),
                 param("command").choices({"ps", "up", "down", "stop", "start", "restart", "logs"})
                     .doc("the compose command to run (default: ps); up runs detached (-d)"),
                 param("remove_orphans", ParamType::Bool).doc("up and down: add --remove-orphans (default false)"),
                 param("volumes", ParamType::Bool)
                     .doc("down: also remove the project's volumes (--volumes; default false)"),
                 param("wait", ParamType::Any)
                     .doc("up: wait for every service up and settled: a duration, or true (step's time, at most 2m)"),
                 param("poll", ParamType::Duration)
                     .doc("up with wait: time between two looks at the services (default 150ms)"),
                 param("stable", ParamType::Int)
                     .doc("up with wait: consecutive polls on which every service must be up (default 1)"),
                 param("settle", ParamType::Duration)
                     .doc("up with wait: how long each container must have run since its last start (default 500ms)"),
                 param("services", ParamType::StringList).names(plan::Names::Identifier)
                     .doc("only these services (default: all); ignored by down, which acts on the whole project"),
                 param("tail", ParamType::Int)
                     .doc("logs: only the last N lines of each service (--tail; default: all)"),
                 param("to").names(plan::Names::Path)
                     .doc("logs: write the logs to this file (its folder is created) instead of the step's log"),
                 param("images_from").names(plan::Names::Path)
                     .doc("up: the compose file whose images preflight checks (default: the step's own)"),
                 param("images_env_file").names(plan::Names::Path).doc("up: the env file for images_from's variables"),
                 param("pull", ParamType::Bool)
                     .doc("up: let preflight accept an image missing here that its registry has (default false)"),
                 param("pin").names(plan::Names::Path)
                     .doc("up: a docker.images.record manifest; each service starts on the image ID it recorded"),
                 param("rehearse_map", ParamType::StringMap)
                     .doc("rehearsal: external volume, network or outside bind -> copy or empty (drop for a network)")}),
      // `down` removes containers (and with `volumes`, data): a step may say
      // `destructive: false` for ps / logs / up.
      .destructive = true,
      .read_only = false,
      .rerun_safe = true,
      .validate = validate_compose,
      .describe = describe_compose,
      .preflight = preflight_compose,
      .run = run_compose,
      .rehearse = rehearse_compose,  // docker_compose_rehearse.cpp
      .app_logs = app_logs,
  });
}

}  // namespace rollback::actions::docker
