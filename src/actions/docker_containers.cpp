// docker.stop (`docker stop $(docker ps -q --filter name=agentsalud)` from the emergency
// runbook, but a name filter is a prefix anchored at a word boundary: `agentsalud-staging`
// never stops `agentsalud-staging2` nor `prod-agentsalud-staging`) and docker.ps (the
// read-only state check: is each expected container running, and not restarting, paused or
// unhealthy).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_images.hpp>
#include <rollback/actions/docker_rehearse.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/time.hpp>

namespace rollback::actions::docker {
namespace {

std::string names_of(const std::vector<SelectedContainer>& containers) {
  std::vector<std::string> sorted;
  for (const auto& c : containers) sorted.push_back(c.name);
  std::sort(sorted.begin(), sorted.end());
  std::string names;
  for (const auto& name : sorted) names += (names.empty() ? "" : ", ") + name;
  return names;
}

Outcome run_stop(ActionContext& ctx, const Params& p) {
  auto selected = select_containers(ctx, p, false);
  if (!selected) return to_outcome(selected.error());
  if (selected->empty())
    return Outcome::success().say("docker.none_running", "no running containers match {}",
                                  {selection(p)});
  std::vector<std::string> ids;
  for (const auto& c : *selected) ids.push_back(c.id);
  note_images(ctx, p, "from_version", ids);  // the report's "rolled back from"
  auto argv = docker_argv(p);
  argv.push_back("stop");
  if (p.has("time")) argv.insert(argv.end(), {"-t", p.str("time")});
  argv.insert(argv.end(), ids.begin(), ids.end());
  auto done = run_checked(ctx, p, argv);
  if (!done) return to_outcome(done.error());
  auto outcome =
      Outcome::success().say("docker.stopped", "stopped {} container(s) matching {}: {}",
                             {std::to_string(ids.size()), selection(p), names_of(*selected)});
  outcome.log_excerpt = output_excerpt(*done, 20);
  return outcome;
}

// The dry run's list: what the step would stop now.
Outcome preview_stop(ActionContext& ctx, const Params& p) {
  auto selected = select_containers(ctx, p, false);
  if (!selected) return to_outcome(selected.error());
  if (selected->empty())
    return Outcome::success(
        fmt::format("would stop nothing: no running container matches {}", selection(p)));
  return Outcome::success(
      fmt::format("would stop {} container(s): {}", selected->size(), names_of(*selected)));
}

// `require: true`: a selection of no container at all, running or stopped, is a typo in the
// filter (or the wrong host), refused before anything changes. A stack that crashed still
// has its stopped containers, so an emergency stop is not refused for that.
Outcome preflight_stop(ActionContext& ctx, const Params& p) {
  if (auto daemon = check_daemon(ctx, p); !daemon) return to_outcome(daemon.error());
  if (!p.flag("require")) return Outcome::success("daemon answering");
  auto selected = select_containers(ctx, p, true);
  if (!selected) return to_outcome(selected.error());
  if (selected->empty())
    return Outcome::failure(
        fmt::format("{}no container matches {} (require: true): check the filter against `docker ps -a`",
                    step_prefix(ctx), selection(p)));
  return Outcome::success(fmt::format("{} container(s) match {}", selected->size(), selection(p)));
}

// A name in expect_running matches a container by its name or its compose service.
std::string state_of(const std::vector<ContainerState>& all, const std::string& wanted, bool& ok) {
  std::vector<const ContainerState*> matched;
  for (const auto& c : all)
    if (c.name == wanted || c.service == wanted) matched.push_back(&c);
  ok = !matched.empty();
  if (matched.empty()) return "missing";
  std::string text;
  for (const auto* c : matched) {
    ok = ok && c->up();
    text += (text.empty() ? "" : ", ") + c->describe();
  }
  return text;
}

// `within` of the crash-loop check: how far back deaths count.
Millis crash_window(const Params& p) { return p.duration("within", Millis(600'000)); }

// Deaths per container in the last `window`, from the engine's own event log (a container's
// RestartCount has no time attached: 40 restarts may be a month old). The engine keeps only
// its last 256 events in memory, and the healthchecks of a few stacks fill that in seconds,
// so the log may not reach back to the window's start; where it does not, a container created
// within the window counts its RestartCount instead (each restart followed a death), and any
// other's count is only a lower bound, said so.
struct Deaths {
  std::map<std::string, long long> by_id;  // full container id -> die events in the window
  std::optional<SystemTime> log_starts;    // the oldest event the engine still holds
};

Result<Deaths> deaths_within(ActionContext& ctx, const Params& p, const std::vector<ContainerState>& states) {
  Deaths deaths;
  if (states.empty()) return deaths;
  std::set<std::string> ids;
  for (const auto& c : states) ids.insert(c.id);
  auto argv = docker_argv(p);
  // The whole log, not --since the window: its first line says how far back it reaches.
  argv.insert(argv.end(), {"events", "--since", "0", "--until", "0s", "--format",
                           "{{.TimeNano}} {{.Type}} {{.Actor.ID}} {{.Action}}"});
  auto done = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!done) return std::unexpected(done.error());
  for (const auto& line : output_lines(done->out)) {
    // "<nanoseconds> <type> <actor id> <action>"; an exec's action holds spaces, a death's not.
    auto time_end = line.find(' ');
    auto type_end = line.find(' ', time_end + 1);
    auto id_end = line.find(' ', type_end + 1);
    if (id_end == std::string::npos) continue;
    if (!deaths.log_starts) {
      long long nanos = 0;
      std::from_chars(line.data(), line.data() + time_end, nanos);
      deaths.log_starts = SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(nanos)));
    }
    auto type = line.substr(time_end + 1, type_end - time_end - 1);
    auto id = line.substr(type_end + 1, id_end - type_end - 1);
    if (type == "container" && line.substr(id_end + 1) == "die" && ids.contains(id)) ++deaths.by_id[id];
  }
  return deaths;
}

// One container's deaths in the window: the value of its observation, and whether that
// value is only a lower bound.
struct DeathTally {
  long long count = 0;
  bool lower_bound = false;
};

DeathTally tally(const ContainerState& c, const Deaths& deaths, Millis window, SystemTime now) {
  auto since = now - window;
  DeathTally t;
  if (auto it = deaths.by_id.find(c.id); it != deaths.by_id.end()) t.count = it->second;
  bool log_covers = deaths.log_starts && *deaths.log_starts <= since;
  if (log_covers) return t;
  auto created = parse_iso_utc(c.created_at);
  if (created && *created >= since) t.count = std::max(t.count, c.restarts);
  else t.lower_bound = true;
  return t;
}

// `max_restarts` + `within`: the runbook's "container in a crash loop" criterion.
Outcome check_crash_loops(const ActionContext& ctx, const Params& p, const std::vector<ContainerState>& states,
                          const Deaths& deaths) {
  auto limit = p.integer("max_restarts", 0);
  auto window = format_duration(crash_window(p));
  auto now = std::chrono::system_clock::now();
  auto reach = deaths.log_starts ? format_duration(std::chrono::duration_cast<Millis>(now - *deaths.log_starts))
                                 : std::string("nothing");
  Outcome outcome;
  std::string looping;
  for (const auto& c : states) {
    auto t = tally(c, deaths, crash_window(p), now);
    bool ok = t.count <= limit;
    auto value = t.lower_bound ? fmt::format("at least {} in {} (the engine's event log reaches back {})", t.count,
                                             window, reach)
                               : fmt::format("{} in {}", t.count, window);
    outcome.observations.push_back({c.name + " restarts", value, ok});
    if (!ok) looping += fmt::format("{}{} died {} times", looping.empty() ? "" : ", ", c.name, t.count);
  }
  if (looping.empty()) return outcome;
  outcome.ok = false;
  outcome.message = fmt::format("{}crash loop ({}): {} in the last {} (more than {})", step_prefix(ctx),
                                selection(p), looping, window, limit);
  return outcome;
}

// A paused container answers nothing (its processes are frozen), whatever it was doing: a
// backup killed mid-copy leaves its database so. Any the selection holds fails the probe.
Outcome refuse_paused(const ActionContext& ctx, const Params& p, Outcome outcome,
                      const std::vector<ContainerState>& states) {
  std::string paused;
  std::set<std::string> names;
  for (const auto& c : states)
    if (c.status == "paused") {
      paused += (paused.empty() ? "" : " ") + c.name;
      names.insert(c.name);
    }
  if (paused.empty()) return outcome;
  for (auto& o : outcome.observations)
    if (names.erase(o.name) > 0) o.ok = false;
  for (const auto& name : names) outcome.observations.push_back({name, "paused", false});
  outcome.ok = false;
  outcome.transient = true;  // a backup's own pause ends within seconds
  outcome.message = fmt::format(
      "{}paused ({}): {}: a paused container answers nothing; if no backup is running, "
      "`docker unpause {}`",
      step_prefix(ctx), selection(p), paused, paused);
  return outcome;
}

// Every container listed (no `expect_running`), or each expected one running and up.
Outcome expectations(const ActionContext& ctx, const Params& p, const std::vector<ContainerState>& states) {
  auto expected = p.list("expect_running");
  Outcome outcome;
  if (expected.empty()) {
    size_t up = 0;
    for (const auto& c : states) {
      outcome.observations.push_back({c.name, c.describe(), true});
      up += c.up() ? 1 : 0;
    }
    outcome.message = fmt::format("{} container(s) match {}, {} up", states.size(), selection(p), up);
    return refuse_paused(ctx, p, std::move(outcome), states);
  }
  std::string bad;
  for (const auto& name : expected) {
    bool ok = false;
    auto state = state_of(states, name, ok);
    outcome.observations.push_back({name, state, ok});
    if (!ok) bad += fmt::format("{}{}: {}", bad.empty() ? "" : "; ", name, state);
  }
  if (!bad.empty()) {
    outcome.ok = false;
    // A restarting container may settle; a missing one will not without someone acting.
    outcome.transient = true;
    outcome.message = fmt::format("{}expected running ({}), but {}", step_prefix(ctx), selection(p), bad);
    return outcome;
  }
  outcome.message = fmt::format("{} expected container(s) running", expected.size());
  return refuse_paused(ctx, p, std::move(outcome), states);
}

Outcome run_ps(ActionContext& ctx, const Params& p) {
  auto ids = list_containers(ctx, p, true);
  if (!ids) return to_outcome(ids.error());
  auto states = inspect_containers(ctx, p, *ids);
  if (!states) return to_outcome(states.error());
  if (!p.has("max_restarts")) return expectations(ctx, p, *states);
  auto deaths = deaths_within(ctx, p, *states);
  if (!deaths) return to_outcome(deaths.error());
  auto loops = check_crash_loops(ctx, p, *states, *deaths);
  if (!loops.ok) return loops;
  auto outcome = expectations(ctx, p, *states);
  outcome.observations.insert(outcome.observations.end(), loops.observations.begin(), loops.observations.end());
  return outcome;
}

// `docker stop $(docker ps ...)`: the shell line an operator would type, and the names
// rollback keeps of what it lists (docker's filter matches any part of a name).
std::string describe_ps(const std::string& head, const Params& p, bool all) {
  std::vector<std::string> argv = docker_argv(p);
  argv.insert(argv.end(), {"ps", "-q"});
  if (all) argv.push_back("-a");
  if (p.has("project"))
    argv.insert(argv.end(), {"--filter", "label=com.docker.compose.project=" + p.str("project")});
  std::string anchored;
  for (const auto& f : p.list("filter")) {
    argv.insert(argv.end(), {"--filter", "name=" + f});
    bool bounded = !f.empty() && (f.back() == '-' || f.back() == '_' || f.back() == '.');
    anchored +=
        (anchored.empty() ? "" : ", ") + (bounded ? f + "*" : fmt::format("{}, {}[-_.]*", f, f));
  }
  return fmt::format("{} $({}){}", head, proc::display_command(argv),
                     anchored.empty() ? "" : "; only names " + anchored);
}

}  // namespace

void register_container_actions(Registry& registry) {
  registry.add(Action{
      .name = "docker.stop",
      .summary = "stop every running container a compose project or an anchored name prefix selects (a dry run lists "
                 "them)",
      .params = with_engine({param("filter", ParamType::StringList).names(plan::Names::Identifier)
                     .doc(kFilterDoc),
                 param("project").names(plan::Names::Identifier)
                     .doc("stop the containers of this compose project (by its label)"),
                 param("time", ParamType::Int)
                     .doc("seconds a container may take to stop before it is killed (docker stop -t)"),
                 param("require", ParamType::Bool)
                     .doc("true: preflight fails when the selection matches no container, running or stopped "
                          "(a filter with a typo)")}),
      .destructive = true,
      .rerun_safe = true,
      .validate = validate_selection,
      .describe = [](const Params& p) { return describe_ps("docker stop", p, false); },
      .preview = preview_stop,
      .preflight = preflight_stop,
      .run = run_stop,
      .rehearse = not_rehearsed("not rehearsed: it would stop production's containers"),
      .app_logs = app_logs,
  });
  registry.add(Action{
      .name = "docker.ps",
      .summary = "containers of a project or name prefix; fails unless expected ones are running, or while one is "
                 "paused",
      .params = with_engine({param("project").names(plan::Names::Identifier)
                     .doc("the containers of this compose project (by its label), stopped ones included"),
                 param("filter", ParamType::StringList).names(plan::Names::Identifier)
                     .doc(kFilterDoc),
                 param("expect_running", ParamType::StringList).names(plan::Names::Identifier)
                     .doc("container or service names that must be running, not restarting, healthy if checked"),
                 param("max_restarts", ParamType::Int)
                     .doc("fail when a selected container died more than this many times in `within`"),
                 param("within", ParamType::Duration)
                     .doc("the window in which max_restarts counts deaths, from docker events, or from RestartCount for a "
                          "container created within it where the engine's log of 256 events reaches back less "
                          "(default 10m)")}),
      .destructive = false,
      .read_only = true,
      .rerun_safe = true,
      .validate = validate_selection,
      .describe =
          [](const Params& p) {
            auto text = describe_ps("docker inspect", p, true);
            auto expected = p.list("expect_running");
            if (!expected.empty()) {
              std::string names;
              for (const auto& n : expected) names += (names.empty() ? "" : ", ") + n;
              text += "; expect running: " + names;
            }
            if (p.has("max_restarts"))
              text += fmt::format("; at most {} restarts each in {} (docker events)", p.integer("max_restarts", 0),
                                  format_duration(crash_window(p)));
            return text;
          },
      .run = run_ps,
      .rehearse = rehearse_by_project,
      .app_logs = app_logs,
  });
}

}  // namespace rollback::actions::docker
