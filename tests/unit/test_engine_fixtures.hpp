// Test actions and plan builders for the engine's unit tests: a recording action, a read-only
// probe, one that fails N times then succeeds, one that runs a real child, one that cancels.
#pragma once

#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <rollback/actions/action.hpp>
#include <rollback/engine/executor.hpp>
#include <rollback/engine/journal.hpp>
#include <rollback/plan/plan.hpp>
#include <rollback/proc/runner.hpp>

namespace engine_test {

using namespace rollback;
using Clock = std::chrono::steady_clock;

struct Calls {
  std::vector<std::string> ran;                // step ids, in order
  std::vector<Clock::time_point> flaky_tries;  // when test.flaky was called
  int preflights = 0;
  std::vector<std::string> cleaned;            // resources test.holder's cleanup ended
};

inline Calls& calls() {
  static Calls c;
  return c;
}

// The members of a parallel group call actions from their own threads.
inline std::mutex& calls_mutex() {
  static std::mutex m;
  return m;
}

inline void note_ran(const std::string& step_id) {
  std::lock_guard lock(calls_mutex());
  calls().ran.push_back(step_id);
}

inline actions::Registry test_registry() {
  actions::Registry r;
  actions::Action record;
  record.name = "test.record";
  record.destructive = true;
  record.describe = [](const actions::Params& p) { return "would record " + p.str("what"); };
  record.run = [](actions::ActionContext& ctx, const actions::Params& p) {
    note_ran(ctx.step_id);
    if (p.has("log")) ctx.log(p.str("log"));
    if (p.has("into")) ctx.set_var(p.str("into"), p.str("value"));
    if (p.flag("fail")) return actions::Outcome::failure("asked to fail: " + p.str("what"));
    auto out = actions::Outcome::success("recorded " + p.str("what"));
    if (p.has("observe")) out.observations.push_back({"seen", p.str("observe"), true});
    return out;
  };
  r.add(record);

  actions::Action guarded = record;
  guarded.name = "test.guarded";
  guarded.preflight = [](actions::ActionContext&, const actions::Params& p) {
    ++calls().preflights;
    if (p.str("source") == "missing") return actions::Outcome::failure("source missing is absent");
    return actions::Outcome::success();
  };
  r.add(guarded);

  actions::Action probe;
  probe.name = "test.probe";
  probe.read_only = true;
  probe.params = {{"into", actions::ParamType::String, false, {}, true}, {"value", actions::ParamType::String}};
  probe.run = [](actions::ActionContext& ctx, const actions::Params& p) {
    note_ran(ctx.step_id);
    ctx.set_var(p.str("into"), p.str("value"));
    return actions::Outcome::success("probed");
  };
  r.add(probe);

  actions::Action flaky;
  flaky.name = "test.flaky";
  flaky.run = [](actions::ActionContext& ctx, const actions::Params& p) {
    note_ran(ctx.step_id);
    calls().flaky_tries.push_back(Clock::now());
    if (static_cast<long long>(calls().flaky_tries.size()) <= p.integer("fail_times")) {
      auto o = actions::Outcome::failure("not yet", p.flag("transient", true));
      if (p.flag("left_changes")) o.data["failure_left_changes"] = "a change may have been made";
      return o;
    }
    return actions::Outcome::success("finally");
  };
  r.add(flaky);

  actions::Action child;
  child.name = "test.child";
  child.run = [](actions::ActionContext& ctx, const actions::Params& p) {
    proc::Command cmd;
    cmd.argv = p.list("argv");
    cmd.timeout = ctx.remaining(Millis(0));
    cmd.kill_grace = p.duration("grace", Millis(500));
    auto done = ctx.runner.run(cmd);
    if (!done) return actions::Outcome::failure(done.error().message);
    if (!done->succeeded()) return actions::Outcome::failure(done->outcome());
    return actions::Outcome::success();
  };
  r.add(child);

  // Holds a resource, then fails (or succeeds after releasing it): its cleanup must end
  // what it still holds before the step is reported.
  actions::Action holder;
  holder.name = "test.holder";
  holder.run = [](actions::ActionContext& ctx, const actions::Params& p) {
    note_ran(ctx.step_id);
    nlohmann::json resource = {{"kind", "helper"}, {"name", ctx.step_id}};
    if (ctx.hold) ctx.hold(resource);
    if (p.flag("fail")) return actions::Outcome::failure("helper failed half-way");
    if (ctx.release) ctx.release(resource);
    return actions::Outcome::success();
  };
  holder.cleanup = [](actions::CleanupContext& ctx) {
    for (const auto& r : ctx.held) calls().cleaned.push_back(r.value("name", "?"));
  };
  r.add(holder);

  // Takes `ms` (waking early when the run is cancelled), then succeeds or, with `fail`,
  // fails; `lines` log lines on the way: a member of a parallel group.
  actions::Action wait;
  wait.name = "test.wait";
  wait.destructive = true;
  wait.describe = [](const actions::Params& p) { return "would wait " + std::to_string(p.integer("ms")) + "ms"; };
  wait.run = [](actions::ActionContext& ctx, const actions::Params& p) {
    note_ran(ctx.step_id);
    for (long long i = 0; i < p.integer("lines"); ++i) ctx.log("line " + std::to_string(i));
    auto until = Clock::now() + std::chrono::milliseconds(p.integer("ms"));
    while (Clock::now() < until) {
      if (proc::cancel_requested()) return actions::Outcome::failure("interrupted");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (p.has("into")) ctx.set_var(p.str("into"), p.str("value"));
    if (p.flag("fail")) return actions::Outcome::failure("asked to fail: " + ctx.step_id);
    return actions::Outcome::success("waited");
  };
  r.add(wait);

  actions::Action cancel;
  cancel.name = "test.cancel";
  cancel.run = [](actions::ActionContext& ctx, const actions::Params&) {
    note_ran(ctx.step_id);
    proc::request_cancel();
    return actions::Outcome::success();
  };
  r.add(cancel);
  return r;
}

inline plan::Step step(std::string id, std::string action, const std::string& with_yaml = "{}",
                       plan::Phase phase = plan::Phase::Restore) {
  plan::Step s;
  s.id = id;
  s.name = "Step " + id;
  s.action = std::move(action);
  s.with = YAML::Load(with_yaml);
  s.phase = phase;
  s.destructive = s.action == "test.record" || s.action == "test.guarded" || s.action == "test.wait";
  return s;
}

inline plan::Plan make_plan(std::vector<plan::Step> steps) {
  plan::Plan p;
  p.name = "test-plan";
  p.kind = plan::Kind::Quick;
  p.steps = std::move(steps);
  return p;
}

inline void reset() {
  std::lock_guard lock(calls_mutex());
  calls() = Calls{};
  proc::reset_cancel();
}

// Steps of one parallel group (Plan::steps keeps members side by side, sharing `group`).
inline std::vector<plan::Step> group(const std::string& id, std::vector<plan::Step> members) {
  for (auto& member : members) member.group = id;
  return members;
}

inline plan::Plan plan_of(std::vector<std::vector<plan::Step>> blocks) {
  std::vector<plan::Step> steps;
  for (auto& block : blocks) steps.insert(steps.end(), block.begin(), block.end());
  plan::Plan p;
  p.name = "test-plan";
  p.kind = plan::Kind::Quick;
  p.steps = std::move(steps);
  return p;
}

// Alive and not a zombie.
inline bool process_alive(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

// One execution of `plan` by a real Executor over the test actions, with a journal and
// scope when the test gives them.
struct Run {
  rollback::ExitCode code;
  rollback::engine::RunRecord record;
};

inline Run run_plan(const rollback::plan::Plan& plan, rollback::engine::ExecuteOptions options = {},
                    rollback::engine::Journal* journal = nullptr, rollback::plan::Scope* scope = nullptr) {
  static auto registry = test_registry();
  rollback::proc::SystemRunner runner;
  rollback::engine::Executor executor(registry, runner);
  rollback::engine::RunRecord record;
  record.run_id = "test-run";
  rollback::plan::Scope own;
  auto code = executor.execute(plan, scope ? *scope : own, record, journal, options);
  return {code, record};
}

}  // namespace engine_test
