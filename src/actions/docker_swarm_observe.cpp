// Asking the engine about its swarm, its services and their tasks, and waiting for them to
// converge (src/actions/docker_swarm_cli.hpp).
#include "docker_swarm_cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <thread>

#include <rollback/actions/output.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker::swarm {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> with(const Params& p, std::initializer_list<std::string> args) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), args);
  return argv;
}

Result<SwarmInfo> swarm_info(ActionContext& ctx, const Params& p) {
  auto argv = with(p, {"info", "--format", "{{.SystemTime}} {{json .Swarm}}"});
  auto done = run_checked(ctx, p, argv, quiet());
  if (!done) return std::unexpected(done.error());
  auto text = trim(done->out);
  auto space = text.find(' ');
  auto swarm = nlohmann::json::parse(space == std::string::npos ? "" : text.substr(space + 1),
                                     nullptr, false);
  auto time = parse_iso_utc(text.substr(0, space));
  if (swarm.is_discarded() || !swarm.is_object() || !time)
    return fail(fmt::format("{}docker info printed something unexpected: \"{}\"", step_prefix(ctx),
                            text.substr(0, 120)));
  SwarmInfo info{.local_state = swarm.value("LocalNodeState", ""),
                 .manager = swarm.value("ControlAvailable", false),
                 .nodes = swarm.value("Nodes", 0LL),
                 .node_id = swarm.value("NodeID", ""),
                 .clock = EngineClock(*time)};
  return info;
}

// Logged when it changes, so a long wait leaves a readable trail instead of one line a poll.
std::string summary(const Snapshot& snapshot, const std::vector<Verdict>& verdicts) {
  std::string text;
  for (size_t i = 0; i < verdicts.size(); ++i)
    text += fmt::format("{}{}: {}", text.empty() ? "" : "; ", snapshot.services[i].short_name,
                        verdicts[i].detail);
  return text;
}

// `docker inspect` prints what it found and exits 1 when any one ID is gone: Swarm removes
// tasks (its task history limit, a crash loop's restarts, a service removed) between our
// listing and the inspect. A task that is gone is no longer Swarm's concern, nor ours; any
// other error is one.
bool only_vanished(const proc::Completed& done) {
  if (done.exit_code != 1 || done.timed_out || done.cancelled) return false;
  auto lines = output_lines(done.err);
  return !lines.empty() && std::all_of(lines.begin(), lines.end(), [](std::string line) {
    std::transform(line.begin(), line.end(), line.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    line = trim(line);
    // 20.10: "Error response from daemon: task ID not found"; later: "No such task: ID".
    return line.find("no such task") != std::string::npos ||
           (line.find("task ") != std::string::npos && line.ends_with(" not found"));
  });
}

Outcome failed_service(ActionContext& ctx, const Params& p, const ServiceState& s,
                       const Verdict& v) {
  auto outcome = Outcome::failure(
      fmt::format("{}service {} ({}): {}", step_prefix(ctx), s.short_name, s.name, v.detail));
  auto argv = with(p, {"service", "logs", "--no-task-ids", "--tail", "20", "--", s.name});
  if (auto logs = run(ctx, p, argv, quiet()); logs && logs->succeeded())
    outcome.log_excerpt = output_excerpt(*logs, 20);
  return outcome;
}

}  // namespace

Result<SwarmInfo> require_manager(ActionContext& ctx, const Params& p) {
  auto info = swarm_info(ctx, p);
  if (!info) return info;
  if (info->local_state != "active" || !info->manager)
    return fail(fmt::format(
        "{}the engine at {} is not a swarm manager (swarm state: {}); rollback never joins or "
        "leaves a swarm: "
        "point it at a manager with `host: ssh://user@manager` (DOCKER_HOST) or a `context`",
        step_prefix(ctx), daemon_address(p),
        info->local_state.empty() ? "unknown" : info->local_state));
  return info;
}

Result<std::vector<std::string>> stack_services(ActionContext& ctx, const Params& p,
                                                const std::string& stack) {
  auto argv =
      with(p, {"service", "ls", "-q", "--filter", "label=com.docker.stack.namespace=" + stack});
  auto done = run_checked(ctx, p, argv, quiet());
  if (!done) return std::unexpected(done.error());
  return output_lines(done->out);
}

Result<std::vector<std::string>> selected_services(ActionContext& ctx, const Params& p) {
  if (p.has("stack")) {
    auto ids = stack_services(ctx, p, p.str("stack"));
    if (ids && ids->empty())
      return fail(fmt::format("{}stack {} has no services", step_prefix(ctx), p.str("stack")));
    return ids;
  }
  return p.list("service");
}

std::string running_image_id(ActionContext& ctx, const Params& p, const ServiceState& s,
                             const Snapshot& snapshot, const std::string& node_id) {
  for (const auto& t : snapshot.tasks) {
    if (t.service_id != s.id || !s.current(t) || t.state != "running" || t.node_id != node_id ||
        t.container_id.empty())
      continue;
    auto argv =
        with(p, {"inspect", "--type", "container", "--format", "{{.Image}}", "--", t.container_id});
    if (auto done = run(ctx, p, argv, quiet()); done && done->succeeded()) return trim(done->out);
  }
  return {};
}

std::string selection_words(const Params& p) {
  if (p.has("stack")) return "stack " + p.str("stack");
  std::string names;
  for (const auto& s : p.list("service")) names += (names.empty() ? "" : ", ") + s;
  return "service " + names;
}

Result<Snapshot> observe(ActionContext& ctx, const Params& p,
                         const std::vector<std::string>& service_ids) {
  Snapshot snapshot;
  if (service_ids.empty()) return snapshot;
  auto argv = with(p, {"service", "inspect", "--"});
  argv.insert(argv.end(), service_ids.begin(), service_ids.end());
  auto services = run_checked(ctx, p, argv, quiet());
  if (!services) return std::unexpected(services.error());
  auto parsed = parse_services(services->out);
  if (!parsed) return fail(step_prefix(ctx) + parsed.error().message);
  snapshot.services = std::move(*parsed);
  argv = with(p, {"service", "ps", "-q", "--no-trunc", "--"});
  for (const auto& s : snapshot.services) argv.push_back(s.id);
  auto ids = run_checked(ctx, p, argv, quiet());
  if (!ids) return std::unexpected(ids.error());
  auto task_ids = output_lines(ids->out);
  snapshot.observed = Clock::now();
  if (task_ids.empty()) return snapshot;
  // One compact line a task (kTaskFormat): the pretty JSON is 3 KB a task and would
  // overflow what a command's output may hold once a stack keeps a few dozen tasks.
  argv = with(p, {"inspect", "--type", "task", "--format", kTaskFormat, "--"});
  argv.insert(argv.end(), task_ids.begin(), task_ids.end());
  auto tasks = run(ctx, p, argv, quiet());
  if (!tasks || !(tasks->succeeded() || only_vanished(*tasks))) {
    auto format = std::find(argv.begin(), argv.end(), "--format");
    argv.erase(format, format + 2);  // the template, in the message, is noise
    return std::unexpected(explain(ctx, p, redact(proc::display_command(argv)), tasks));
  }
  auto parsed_tasks = parse_task_lines(tasks->out);
  if (!parsed_tasks) return fail(step_prefix(ctx) + parsed_tasks.error().message);
  snapshot.tasks = std::move(*parsed_tasks);
  return snapshot;
}

std::vector<ParamSpec> with_wait(std::vector<ParamSpec> params, const std::string& waits_for) {
  params.push_back(param("wait", ParamType::Any)
                       .doc(waits_for + ": a duration, or true (step's time, at most 5m)"));
  params.push_back(param("poll", ParamType::Duration).doc("with wait: time between two looks at the services (default 1s)"));
  params.push_back(param("max_failures", ParamType::Int)
                       .doc("with wait: failed tasks of the current spec that make failure certain (default 3)"));
  params.push_back(param("pending", ParamType::Duration)
                       .doc("with wait: how long a task may stay pending on 'no suitable node' "
                            "once no older task is stopping (default 10s)"));
  return params;
}

Millis wait_budget(const ActionContext& ctx, const Params& p) {
  const auto& raw = p.raw("wait");
  if (raw.is_null()) return Millis(0);
  if (raw.is_boolean()) return raw.get<bool>() ? ctx.remaining(Millis(300'000)) : Millis(0);
  auto text = p.str("wait");
  if (auto d = parse_duration(text)) return ctx.remaining(*d);
  return plan::truthy(text) ? ctx.remaining(Millis(300'000)) : Millis(0);
}

std::vector<Verdict> judge_all(const Snapshot& snapshot, const JudgeOptions& options) {
  std::vector<Verdict> verdicts;
  for (const auto& s : snapshot.services) verdicts.push_back(judge(s, snapshot.tasks, options));
  return verdicts;
}

void add_observations(Outcome& outcome, const Snapshot& snapshot,
                      const std::vector<Verdict>& verdicts) {
  nlohmann::json services = nlohmann::json::array();
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const auto& s = snapshot.services[i];
    const auto& v = verdicts[i];
    bool ok = v.state == Convergence::Converged;
    outcome.observations.push_back({s.short_name, v.detail + " (" + s.image + ")", ok});
    services.push_back({{"service", s.name},
                        {"image", s.image},
                        {"running", v.running},
                        {"desired", v.desired},
                        {"update_state", s.update_state},
                        {"converged", ok},
                        {"detail", v.detail}});
  }
  outcome.data["services"] = std::move(services);
}

Outcome wait_converged(ActionContext& ctx, const Params& p,
                       const std::vector<std::string>& service_ids, Goal goal,
                       const EngineClock& clock, SystemTime since, Outcome started) {
  auto budget = wait_budget(ctx, p);
  auto deadline = Clock::now() + budget;
  auto every = p.duration("poll", Millis(1'000));
  JudgeOptions options{.goal = goal,
                       .since = since,
                       .max_failures = std::max(1LL, p.integer("max_failures", 3)),
                       .pending_limit = p.duration("pending", Millis(10'000))};
  std::string logged;
  while (true) {
    auto snapshot = observe(ctx, p, service_ids);
    if (!snapshot) return to_outcome(snapshot.error());
    // The race that let a task that exits at once count as converged on a busy machine:
    // the engine reports such a task `running` until it notices the exit (over a second
    // when the CPUs are busy), `now` was read after observe() returned (seconds after the
    // look, when the CLI calls are slow), and judge() took that one look as proof: the
    // task looked older than its monitor period. So ages are taken at the moment the tasks
    // were asked for, and judge() counts a task only once it has run for the monitor period
    // plus kSettle and two consecutive polls saw it running since the same moment.
    options.now = clock.at(snapshot->observed);
    auto verdicts = judge_all(*snapshot, options);
    options.previous = snapshot->tasks;
    if (auto line = summary(*snapshot, verdicts); line != logged && ctx.log) ctx.log(logged = line);
    Millis sooner = every;
    bool all = true;
    for (size_t i = 0; i < verdicts.size(); ++i) {
      const auto& v = verdicts[i];
      if (v.state == Convergence::Failed) {
        auto outcome = failed_service(ctx, p, snapshot->services[i], v);
        add_observations(outcome, *snapshot, verdicts);
        return outcome;
      }
      all = all && v.state == Convergence::Converged;
      if (v.ready_in > Millis(0)) sooner = std::min(sooner, v.ready_in + Millis(50));
    }
    if (all) {
      add_observations(started, *snapshot, verdicts);
      started.message += fmt::format("; {} service(s) converged", verdicts.size());
      return started;
    }
    if (proc::cancel_requested())
      return Outcome::failure(step_prefix(ctx) + "interrupted while waiting");
    if (Clock::now() + std::min(every, sooner) > deadline) {
      auto outcome =
          Outcome::failure(fmt::format("{}not converged after {}: {}", step_prefix(ctx),
                                       format_duration(budget), summary(*snapshot, verdicts)),
                           true);
      add_observations(outcome, *snapshot, verdicts);
      return outcome;
    }
    std::this_thread::sleep_for(std::min(every, sooner));
  }
}

Result<proc::Completed> run_with_env(ActionContext& ctx, const Params& p,
                                     const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env, Millis cap) {
  proc::Command command;
  command.argv = argv;
  command.env = env;
  if (p.has("host")) command.env["DOCKER_HOST"] = p.str("host");
  command.timeout = ctx.remaining(cap);
  if (ctx.log) {
    ctx.log("$ " + proc::display_command(argv));
    command.on_line = [&ctx](proc::Stream, std::string_view line) { ctx.log(line); };
  }
  auto done = ctx.runner.run(command);
  if (done && done->succeeded()) return done;
  return std::unexpected(explain(ctx, p, redact(proc::display_command(argv)), done));
}

Result<bool> image_present(ActionContext& ctx, const Params& p, const std::string& image) {
  auto argv = with(p, {"image", "inspect", "--format", "{{.Id}}", "--", image});
  auto done = run(ctx, p, argv, quiet());
  if (done && done->succeeded()) return true;
  if (done && done->exit_code == 1 && !done->timed_out &&
      (done->err.find("No such image") != std::string::npos ||
       done->err.find("no such image") != std::string::npos))
    return false;
  return std::unexpected(explain(ctx, p, "docker image inspect " + image, done));
}

void validate_service_selection(ParamCheck& check) {
  if (check.has("stack") == check.has("service"))
    check.error_at_step(
        "needs `stack` (every service of a stack) or `service` (one or more service names), not "
        "both");
}

void validate_wait(ParamCheck& check) {
  if (auto wait = check.literal("wait")) {
    bool boolean = *wait == "true" || *wait == "false" || *wait == "yes" || *wait == "no";
    if (!boolean && !parse_duration(*wait))
      check.error(
          "wait",
          fmt::format("wait must be true/false or a duration such as 2m, not \"{}\"", *wait));
  }
}

}  // namespace rollback::actions::docker::swarm
