// Services and tasks as the docker CLI prints them, and the convergence verdict
// (include/rollback/actions/docker_swarm.hpp).
#include <rollback/actions/docker_swarm.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace rollback::actions::docker::swarm {
namespace {

using nlohmann::json;

const json& at(const json& j, const char* key) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

std::string text(const json& j, const char* key) {
  const auto& v = at(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

long long number(const json& j, const char* key, long long fallback = 0) {
  const auto& v = at(j, key);
  return v.is_number_integer() ? v.get<long long>() : fallback;
}

std::optional<SystemTime> timestamp(const json& j, const char* key) {
  auto t = text(j, key);
  return t.empty() ? std::nullopt : parse_iso_utc(t);
}

Result<json> parse_array(std::string_view text_in, const char* what) {
  auto parsed = json::parse(text_in, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array())
    return fail(fmt::format("{} printed something that is not a JSON array", what));
  return parsed;
}

ServiceState service_from(const json& s) {
  ServiceState out;
  const auto& spec = at(s, "Spec");
  out.id = text(s, "ID");
  out.name = text(spec, "Name");
  out.stack = text(at(spec, "Labels"), "com.docker.stack.namespace");
  out.short_name = out.name;
  if (!out.stack.empty() && out.name.starts_with(out.stack + "_"))
    out.short_name = out.name.substr(out.stack.size() + 1);
  const auto& mode = at(spec, "Mode");
  if (at(mode, "Replicated").is_object()) {
    out.mode = "replicated";
    out.replicas = number(at(mode, "Replicated"), "Replicas", 1);
  } else if (at(mode, "Global").is_object()) {
    out.mode = "global";
  } else {
    out.mode = "job";
  }
  const auto& task = at(spec, "TaskTemplate");
  out.image = text(at(task, "ContainerSpec"), "Image");
  out.force_update = number(task, "ForceUpdate");
  const auto& restart = at(task, "RestartPolicy");
  if (auto c = text(restart, "Condition"); !c.empty()) out.restart_condition = c;
  out.max_attempts = number(restart, "MaxAttempts");
  if (auto monitor = number(at(spec, "UpdateConfig"), "Monitor", -1); monitor >= 0)
    out.monitor = Millis(monitor / 1'000'000);
  const auto& status = at(s, "UpdateStatus");
  out.update_state = text(status, "State");
  out.update_message = text(status, "Message");
  out.update_started = timestamp(status, "StartedAt");
  const auto& previous = at(s, "PreviousSpec");
  out.has_previous = previous.is_object();
  out.previous_same = out.has_previous && previous == spec;
  out.previous_image = text(at(at(previous, "TaskTemplate"), "ContainerSpec"), "Image");
  out.spec = spec;
  return out;
}

TaskState task_from(const json& t) {
  TaskState out;
  out.id = text(t, "ID");
  out.service_id = text(t, "ServiceID");
  out.node_id = text(t, "NodeID");
  out.slot = number(t, "Slot");
  out.desired = text(t, "DesiredState");
  const auto& status = at(t, "Status");
  out.state = text(status, "State");
  out.error = text(status, "Err");
  out.since = timestamp(status, "Timestamp");
  out.container_id = text(at(status, "ContainerStatus"), "ContainerID");
  const auto& spec = at(t, "Spec");
  out.image = text(at(spec, "ContainerSpec"), "Image");
  out.force_update = number(spec, "ForceUpdate");
  return out;
}

Millis age(const JudgeOptions& o, const std::optional<SystemTime>& since) {
  if (!since) return Millis(0);
  return std::max(Millis(0), std::chrono::duration_cast<Millis>(o.now - *since));
}

bool after_start(const JudgeOptions& o, const std::optional<SystemTime>& when) {
  return !o.since || (when && *when >= *o.since);
}

// The error of the task an UpdateStatus message names ("... of task y5j2zr7l..."), if any.
std::string named_task_error(const std::string& message, const std::vector<TaskState>& tasks) {
  for (const auto& t : tasks)
    if (!t.id.empty() && message.find(t.id) != std::string::npos && !t.error.empty())
      return t.error;
  return {};
}

std::string with_cause(std::string what, const std::string& cause) {
  return cause.empty() ? what : what + ": " + cause;
}

// Update states that settle the verdict on their own; nullopt when the tasks decide.
std::optional<Verdict> from_update_status(const ServiceState& s,
                                          const std::vector<TaskState>& tasks,
                                          const JudgeOptions& o) {
  const auto& st = s.update_state;
  bool fresh = after_start(o, s.update_started);
  auto failed = [&](std::string why) {
    return Verdict{.state = Convergence::Failed,
                   .detail = with_cause(std::move(why), named_task_error(s.update_message, tasks))};
  };
  auto converging = [](std::string why) {
    return Verdict{.state = Convergence::Converging, .detail = std::move(why)};
  };
  if (st == "paused") return failed("update paused by Swarm (" + s.update_message + ")");
  if (st == "rollback_paused") return failed("Swarm's rollback paused (" + s.update_message + ")");
  if (o.goal == Goal::Rollback) {
    if (!fresh || !st.starts_with("rollback_"))
      return converging("waiting for Swarm to start the rollback");
    if (st == "rollback_started") return converging("rollback in progress");
    return std::nullopt;
  }
  if (o.goal == Goal::Deploy && fresh && st.starts_with("rollback_"))
    return failed("the update failed and Swarm rolled the service back on its own (" +
                  s.update_message + ")");
  if (st == "updating") return converging("update in progress");
  if (st == "rollback_started") return converging("rollback in progress");
  return std::nullopt;
}

// Since when a pending task has waited with nothing of its service winding down: its own
// pending state's start, or the moment the last task being stopped had stopped, when that is
// later. A stop-first update creates the new task at once, pending on the port the old task
// holds until it stops, which for a process that ignores SIGTERM is its whole stop grace
// period: that time is the old task's, not a stuck placement.
std::optional<SystemTime> pending_since(const TaskState& pending,
                                        const std::vector<TaskState>& tasks) {
  auto from = pending.since;
  for (const auto& t : tasks)
    if (!t.wanted() && t.ended() && t.since && (!from || *t.since > *from)) from = t.since;
  return from;
}

// Whether the previous poll saw `t` running since the same moment it runs since now.
bool seen_running_before(const TaskState& t, const JudgeOptions& o) {
  return std::any_of(o.previous.begin(), o.previous.end(), [&](const TaskState& before) {
    return before.id == t.id && before.state == "running" && before.since == t.since;
  });
}

// Failure is certain: the current spec's tasks keep failing, or will not be restarted, or
// cannot start anywhere.
std::optional<std::string> certain_failure(const ServiceState& s,
                                           const std::vector<TaskState>& tasks,
                                           const JudgeOptions& o) {
  long long failures = 0;
  const TaskState* last = nullptr;
  for (const auto& t : tasks) {
    if (!s.current(t) || !t.failed() || !after_start(o, t.since)) continue;
    ++failures;
    if (!last || (t.since && last->since && *t.since > *last->since)) last = &t;
  }
  if (last) {
    auto why = last->error.empty() ? "exited (" + last->state + ")" : last->error;
    bool no_restart = s.restart_condition == "none" ||
                      (s.restart_condition == "on-failure" && last->state == "complete") ||
                      (s.max_attempts > 0 && failures >= s.max_attempts);
    bool image_missing = why.find("No such image") != std::string::npos;
    if (failures >= o.max_failures || no_restart || image_missing)
      return fmt::format("task {} {} time(s){}: {}",
                         last->state == "rejected" ? "rejected" : "exited", failures,
                         o.since ? " since the step started" : "", why);
  }
  // A task pending on "no suitable node" while an old task still holds its port or its
  // resources is an ordinary stop-first update; once nothing is winding down, it is stuck.
  bool winding_down = std::any_of(tasks.begin(), tasks.end(),
                                  [](const TaskState& t) { return !t.wanted() && !t.ended(); });
  for (const auto& t : tasks) {
    if (winding_down || !t.wanted() || t.state != "pending" ||
        !t.error.starts_with("no suitable node"))
      continue;
    auto waited = age(o, pending_since(t, tasks));
    if (waited >= o.pending_limit)
      return fmt::format("task pending for {}: {}", format_duration(waited), t.error);
  }
  return std::nullopt;
}

// What a service that is not there yet is doing, for the message: the newest task's state.
std::string newest_task_note(const ServiceState& s, const std::vector<TaskState>& tasks) {
  const TaskState* newest = nullptr;
  for (const auto& t : tasks)
    if (s.current(t) && t.state != "running" &&
        (!newest || (t.since && newest->since && *t.since > *newest->since)))
      newest = &t;
  if (!newest) return {};
  return newest->error.empty() ? "; a task is " + newest->state
                               : "; a task is " + newest->state + ": " + newest->error;
}

}  // namespace

bool TaskState::ended() const {
  return state == "complete" || state == "failed" || state == "rejected" || state == "shutdown" ||
         state == "orphaned" || state == "remove";
}

Result<std::vector<ServiceState>> parse_services(std::string_view inspect_json) {
  auto parsed = parse_array(inspect_json, "docker service inspect");
  if (!parsed) return std::unexpected(parsed.error());
  std::vector<ServiceState> out;
  for (const auto& s : *parsed) out.push_back(service_from(s));
  return out;
}

Result<std::vector<TaskState>> parse_task_lines(std::string_view lines) {
  std::vector<TaskState> out;
  while (!lines.empty()) {
    auto end = std::min(lines.find('\n'), lines.size());
    auto line = lines.substr(0, end);
    lines.remove_prefix(std::min(end + 1, lines.size()));
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto parsed = json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
      return fail("docker inspect --type task printed a line that is not a JSON object");
    out.push_back(task_from(parsed));
  }
  return out;
}

Result<std::vector<TaskState>> parse_tasks(std::string_view inspect_json) {
  auto parsed = parse_array(inspect_json, "docker inspect --type task");
  if (!parsed) return std::unexpected(parsed.error());
  std::vector<TaskState> out;
  for (const auto& t : *parsed) out.push_back(task_from(t));
  return out;
}

Verdict judge(const ServiceState& s, const std::vector<TaskState>& all_tasks,
              const JudgeOptions& o) {
  std::vector<TaskState> tasks;
  for (const auto& t : all_tasks)
    if (t.service_id == s.id) tasks.push_back(t);
  Verdict v;
  if (s.mode == "job")
    return Verdict{.state = Convergence::Converged, .detail = "job service (not waited for)"};
  std::optional<Millis> youngest;
  bool stale_running = false;
  bool unconfirmed = false;  // a running task the previous poll did not see running
  for (const auto& t : tasks) {
    if (t.wanted() && s.current(t) && t.state == "running") {
      ++v.running;
      youngest = std::min(youngest.value_or(Millis::max()), age(o, t.since));
      unconfirmed = unconfirmed || !seen_running_before(t, o);
    } else if (t.state == "running") {
      stale_running = true;
    }
    if (s.mode == "global" && t.wanted()) ++v.desired;
  }
  if (s.mode == "replicated") v.desired = s.replicas;
  auto counts = fmt::format("{}/{} running", v.running, v.desired);
  if (o.goal != Goal::Observe) {
    if (auto certain = certain_failure(s, tasks, o))
      return Verdict{.state = Convergence::Failed,
                     .running = v.running,
                     .desired = v.desired,
                     .detail = counts + "; " + *certain};
  }
  if (auto by_status = from_update_status(s, tasks, o)) {
    by_status->running = v.running;
    by_status->desired = v.desired;
    by_status->detail = counts + "; " + by_status->detail;
    if (by_status->state == Convergence::Converging) {
      by_status->detail += newest_task_note(s, tasks);
      // Every task of the new spec runs: Swarm completes the update one monitor period
      // after the last one started, so look again then rather than a whole poll later.
      if (v.running == v.desired && !stale_running && youngest)
        by_status->ready_in = std::max(Millis(200), s.monitor - *youngest);
    }
    return *by_status;
  }
  if (v.running != v.desired || (s.mode == "global" && v.desired == 0)) {
    v.detail = counts + newest_task_note(s, tasks);
    return v;
  }
  if (stale_running) {
    v.detail = counts + "; a task of an older spec is still running";
    return v;
  }
  v.detail = counts;
  // A task counts once it has stayed running through the monitor period plus kSettle, seen
  // running since the same moment by this poll and the one before. The engine reports a task
  // whose process exits at once as `running` until it notices the exit: up to 1.3 s on a
  // machine whose CPUs are loaded (measured), more than a 1 s monitor period. One look
  // inside that moment proved nothing, yet it counted.
  if (o.goal != Goal::Observe && youngest && *youngest < s.monitor + kSettle) {
    v.ready_in = s.monitor + kSettle - *youngest;
    v.detail += fmt::format("; holding for the {} monitor period + {}", format_duration(s.monitor),
                            format_duration(kSettle));
    return v;
  }
  if (o.goal != Goal::Observe && unconfirmed) {
    v.ready_in = kConfirmAfter;
    v.detail += "; looking again to confirm it still runs";
    return v;
  }
  v.state = Convergence::Converged;
  return v;
}

}  // namespace rollback::actions::docker::swarm
