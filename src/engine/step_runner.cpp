#include "step_runner.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <fmt/format.h>
#include <thread>

#include <rollback/engine/cleanup.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::engine::detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kKeptLogLines = 400;  // per step, before bound_excerpt trims for the report

// A journal that cannot be written (disk full) must not stop a rollback halfway: the
// problem goes to the log, once per event, and the report is still written at the end.
void journal_event(Journal* journal, nlohmann::json event, const ExecuteOptions& options) {
  if (!journal) return;
  auto written = journal->append(std::move(event));
  if (!written && options.on_log) options.on_log("journal", redact(written.error().message));
}

void finish(const plan::Step& step, StepRecord& record, StepStatus status, std::string message,
            StepEnv& env) {
  record.status = status;
  record.failure_ignored = status == StepStatus::Failed && step.on_failure == plan::OnFailure::Continue;
  record.message = redact(message);
  record.ended = std::chrono::system_clock::now();
  if (record.started)
    record.duration = std::chrono::duration_cast<Millis>(*record.ended - *record.started);
  auto event = step_to_json(record);
  event["event"] = "step_finished";
  event["step"] = record.id;
  journal_event(env.journal, std::move(event), env.options);
}

actions::Outcome call(const std::function<actions::Outcome(actions::ActionContext&,
                                                             const actions::Params&)>& fn,
                      actions::ActionContext& ctx, const actions::Params& params) {
  try {
    return fn(ctx, params);
  } catch (const std::exception& e) {
    return actions::Outcome::failure(fmt::format("internal error: {}", e.what()));
  } catch (...) {
    return actions::Outcome::failure("internal error: unknown exception");
  }
}

// The wait before try number `attempt + 1` (attempt counts from 1).
Millis retry_delay(const plan::RetryPolicy& retry, int attempt) {
  if (retry.until) return retry.every;
  double factor = std::pow(retry.backoff, attempt - 1);
  return Millis(static_cast<long long>(static_cast<double>(retry.delay.count()) * factor));
}

void end_held(const actions::Action& action, actions::ActionContext& ctx, std::vector<nlohmann::json>& held,
              StepEnv& env) {
  CleanupRequest request{.state_dir = ctx.state_dir, .run_id = ctx.run_id, .sweep = {}, .log = ctx.log};
  clean_up_action(action, env.runner, request, held);
  for (const auto& resource : held) {
    nlohmann::json event = {{"event", "resource_released"}, {"step", ctx.step_id}, {"action", action.name},
                            {"resource", resource}, {"by", "cleanup"}};
    journal_event(env.journal, std::move(event), env.options);
  }
  held.clear();
}

// A failure that says it left something changed or unknown (failure_left_changes): its
// message says what to check, and trying again would ask for the change a second time.
bool left_changes(const actions::Outcome& outcome) {
  return !outcome.ok && outcome.data.contains("failure_left_changes");
}

// What a failed attempt said, unless it only repeats that time ran out (with its own
// duration, which would contradict the step's).
std::string last_words(const actions::Outcome& outcome) {
  if (left_changes(outcome)) return " (last: " + outcome.message + ")";
  if (outcome.ok || outcome.message.find("timed out") != std::string::npos ||
      outcome.message.find("time ran out") != std::string::npos)
    return "";
  return " (last: " + outcome.message + ")";
}

// yaml-cpp promises nothing about threads: the members of a parallel group read their
// `with:` nodes (one document, one shared node memory) one at a time.
Result<actions::Params> resolve_step_params(const plan::Step& step, const actions::Action& action,
                                            const plan::Scope& scope) {
  static std::mutex plan_nodes;
  std::lock_guard lock(plan_nodes);
  return plan::resolve_params(step.with, scope, action.params);
}

// What a dry run shows beyond the command: what the step would act on, looked up read-only.
std::string preview_of(const plan::Step& step, const actions::Action& action,
                       const actions::Params& params, StepEnv& env) {
  actions::ActionContext ctx{
      .step_id = step.id, .runner = env.runner, .set_var = {}, .log = [](std::string_view) {}};
  ctx.dry_run = true;
  ctx.timeout = step.timeout.value_or(Millis(30'000));
  ctx.deadline = Clock::now() + ctx.timeout;
  auto seen = call(action.preview, ctx, params);
  return seen.ok ? "; " + seen.message : fmt::format(" (could not look: {})", seen.message);
}

}  // namespace

AttemptResult attempt(const plan::Step& step, const actions::Action& action, const actions::Params& params,
                      actions::ActionContext& ctx, StepRecord& record) {
  // One deadline for the whole step: its timeout and a retry's `until` bound the wall time,
  // and each attempt gets at most what is left of it.
  const auto first_try = Clock::now();
  auto deadline = Clock::time_point::max();
  if (step.timeout) deadline = first_try + *step.timeout;
  if (step.retry.until) deadline = std::min(deadline, first_try + *step.retry.until);
  const int max_attempts = step.retry.until ? INT32_MAX : std::max(1, step.retry.attempts);
  AttemptResult result;
  for (int n = 1;; ++n) {
    record.attempts = n;
    ctx.deadline = deadline;
    result.outcome = call(action.run, ctx, params);
    if (proc::cancel_requested()) {
      result.interrupted = true;
      return result;
    }
    auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - first_try);
    if (step.timeout && elapsed >= *step.timeout) {
      auto& o = result.outcome;
      o.message = fmt::format("timed out after {}{}", format_duration(elapsed), last_words(o));
      o.ok = false;
      return result;
    }
    if (result.outcome.ok || n >= max_attempts) return result;
    if (left_changes(result.outcome)) {
      ctx.log(fmt::format("attempt {} failed and may have changed something; not retried", n));
      return result;
    }
    if (!result.outcome.transient && step.retry.retries() == plan::RetryOn::Transient) {
      ctx.log(fmt::format("attempt {} failed: {}; not retried: the failure is not transient (`retry: {{on: any}}` "
                          "retries every failure)",
                          n, result.outcome.message));
      return result;
    }
    Millis wait = retry_delay(step.retry, n);
    if (Clock::now() + wait >= deadline) return result;  // no time left for another attempt
    ctx.log(fmt::format("attempt {} failed: {}; retrying in {}", n, result.outcome.message, format_duration(wait)));
    if (!interruptible_sleep(wait)) {
      result.interrupted = true;
      return result;
    }
  }
}

Result<bool> evaluate_when(const std::string& when, const plan::Scope& scope) {
  if (when.empty()) return true;
  if (when.find("${") != std::string::npos) {
    auto text = plan::interpolate(when, scope);
    if (!text) return std::unexpected(text.error());
    return plan::truthy(*text);
  }
  auto value = scope.lookup(when);
  return value && plan::truthy(*value);
}

bool references_defined(const YAML::Node& node, const plan::Scope& scope) {
  if (!node.IsDefined() || node.IsNull()) return true;
  if (node.IsScalar()) {
    auto refs = plan::references(node.Scalar());
    if (!refs) return false;
    for (const auto& ref : *refs)
      if (!scope.lookup(ref)) return false;
    return true;
  }
  for (const auto& item : node) {
    const YAML::Node& child = node.IsMap() ? item.second : item;
    if (!references_defined(child, scope)) return false;
  }
  return true;
}

bool interruptible_sleep(Millis d) {
  auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (proc::cancel_requested()) return false;
    auto left = std::chrono::duration_cast<Millis>(until - Clock::now());
    std::this_thread::sleep_for(std::min(left, Millis(20)));
  }
  return !proc::cancel_requested();
}

// Fault injection for tests (tests/integration/test_fault_injection.cpp): with
// ROLLBACK_TEST_PAUSE_AT=<step id> a run stops right after its journal records that step as
// started and stays there, as if the machine died at that instant, until the test kills it
// with SIGKILL. No real run sets it.
static void pause_here_if_asked(const std::string& step_id) {
  static const char* const pause_at = std::getenv("ROLLBACK_TEST_PAUSE_AT");
  if (pause_at == nullptr || step_id != pause_at) return;
  std::fprintf(stderr, "ROLLBACK_TEST_PAUSE_AT: paused in step %s\n", step_id.c_str());
  std::fflush(stderr);
  while (true) ::pause();
}

void mark_done_earlier(StepRecord& record) {
  if (record.status == StepStatus::Ok || record.status == StepStatus::Skipped) return;
  record.status = StepStatus::Ok;
  record.message = "done in an earlier run";
}

void run_step(const plan::Step& step, StepRecord& record, StepEnv& env) {
  record.started = std::chrono::system_clock::now();
  record.status = StepStatus::Running;
  journal_event(env.journal, {{"event", "step_started"},
                              {"step", step.id},
                              {"name", step.name},
                              {"action", step.action},
                              {"started", format_iso_utc(*record.started)}},
                env.options);
  pause_here_if_asked(step.id);

  auto when = evaluate_when(step.when, env.scope);
  if (!when) {
    finish(step, record, StepStatus::Failed,
           fmt::format("step {}: when: {}", step.id, when.error().message), env);
    return;
  }
  if (!*when) {
    finish(step, record, StepStatus::Skipped, fmt::format("skipped: {} is not true", step.when), env);
    return;
  }

  const actions::Action* action = env.registry.find(step.action);
  if (!action || !action->run) {
    finish(step, record, StepStatus::Failed,
           fmt::format("step {}: unknown action \"{}\"", step.id, step.action), env);
    return;
  }
  auto params = resolve_step_params(step, *action, env.scope);
  if (!params) {
    finish(step, record, StepStatus::Failed,
           fmt::format("step {}: {}", step.id, params.error().message), env);
    return;
  }

  const bool dry = env.options.dry_run;
  if (dry && !action->reads_only(step.with)) {
    std::string text = fmt::format("{} {}", step.action, params->all().dump());
    try {
      if (action->describe) text = action->describe(*params);
    } catch (const std::exception& e) {
      text += fmt::format(" (describe failed: {})", e.what());
    }
    if (action->preview) text += preview_of(step, *action, *params, env);
    finish(step, record, StepStatus::Described, text, env);
    return;
  }

  std::deque<std::string> log_lines;
  // What the context's callbacks change (log lines, held resources, notes) is this step's
  // alone, but an action may call them from threads of its own (http.probe's parallel URLs).
  std::mutex step_mutex;
  actions::ActionContext ctx{.step_id = step.id, .runner = env.runner, .set_var = {}, .log = {}};
  ctx.dry_run = dry;
  ctx.timeout = step.timeout.value_or(Millis(0));
  ctx.set_var = [&](const std::string& name, const std::string& value) {
    env.scope.set_var(name, value);
    journal_event(env.journal, {{"event", "var_set"}, {"step", step.id}, {"name", name},
                                {"value", redact(value)}},
                  env.options);
  };
  ctx.log = [&](std::string_view line) {
    // A program's output is data: no terminal codes reach the operator's console (-v).
    std::string clean = redact(escape_controls(line));
    if (env.options.on_log) env.options.on_log(step.id, clean);
    std::lock_guard lock(step_mutex);
    log_lines.push_back(std::move(clean));
    if (log_lines.size() > kKeptLogLines) log_lines.pop_front();
  };
  ctx.run_id = env.options.run_id;
  ctx.state_dir = env.options.state_dir;
  std::vector<nlohmann::json> held;
  auto resource_event = [&](const char* event, const nlohmann::json& resource) {
    journal_event(env.journal, {{"event", event}, {"step", step.id}, {"action", step.action}, {"resource", resource}},
                  env.options);
  };
  ctx.notes = record.notes;
  ctx.note = [&](const std::string& key, const std::string& value) {
    {
      std::lock_guard lock(step_mutex);
      record.notes[key] = value;
      ctx.notes[key] = value;
    }
    journal_event(env.journal, {{"event", "step_note"}, {"step", step.id}, {"key", key}, {"value", redact(value)}},
                  env.options);
  };
  ctx.hold = [&](const nlohmann::json& resource) {
    resource_event("resource_held", resource);
    std::lock_guard lock(step_mutex);
    held.push_back(resource);
  };
  ctx.release = [&](const nlohmann::json& resource) {
    resource_event("resource_released", resource);
    std::lock_guard lock(step_mutex);
    std::erase(held, resource);
  };

  if (env.options.rehearsal) {
    auto rehearsed = actions::rehearse_step(*env.options.rehearsal, step, *action, ctx, *params);
    if (!rehearsed) {
      finish(step, record, StepStatus::Failed, rehearsed.error().message, env);
      return;
    }
    if (rehearsed->kind == actions::Rehearsed::Kind::Skip) {
      finish(step, record, StepStatus::Skipped, rehearsed->note, env);
      return;
    }
    *params = std::move(rehearsed->params);
    if (!rehearsed->note.empty()) ctx.log("rehearsal: " + rehearsed->note);
  }

  bool checked_already = env.preflighted && env.preflighted->contains(step.id) &&
                         env.preflighted->at(step.id) == params->all();
  if (!dry && step.destructive && action->preflight && !checked_already) {
    auto check = call(action->preflight, ctx, *params);
    if (!check.ok) {
      finish(step, record, StepStatus::Failed,
             fmt::format("preflight failed, step not run: {}", check.message), env);
      return;
    }
  }

  auto [outcome, interrupted] = attempt(step, *action, *params, ctx, record);

  // Whatever the action still holds (it failed, timed out or was interrupted before it let
  // go) is ended before the step is reported: no helper keeps changing data afterwards.
  if (!held.empty()) end_held(*action, ctx, held, env);

  for (auto& o : outcome.observations) o.value = redact(o.value);
  record.observations = std::move(outcome.observations);
  std::string log = outcome.log_excerpt;
  if (log.empty())
    for (const auto& line : log_lines) log += line + "\n";
  record.log_excerpt = redact(bound_excerpt(log));
  record.data = nlohmann::json::parse(redact(outcome.data.dump()), nullptr, false);
  if (record.data.is_discarded()) record.data = nlohmann::json::object();
  record.warning = outcome.ok && outcome.warning;

  if (interrupted) {
    finish(step, record, StepStatus::Interrupted, "interrupted", env);
    return;
  }
  std::string message = outcome.message;
  if (!outcome.ok && record.attempts > 1)
    message = fmt::format("{} (after {} attempts)", message, record.attempts);
  finish(step, record, outcome.ok ? StepStatus::Ok : StepStatus::Failed, message, env);
}

}  // namespace rollback::engine::detail
