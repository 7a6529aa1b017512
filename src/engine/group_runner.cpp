// A `parallel:` group: its members start together, each on its own thread, and the group
// ends when the last one ends (step_runner.hpp, run_group).
#include <fmt/format.h>

#include <thread>

#include <rollback/util/redact.hpp>

#include "step_runner.hpp"

namespace rollback::engine::detail {
namespace {

std::string_view group_status(const RunRecord& record, size_t first, size_t end) {
  bool failed = false, interrupted = false;
  for (size_t i = first; i < end; ++i) {
    interrupted = interrupted || record.steps[i].status == StepStatus::Interrupted;
    failed = failed || failed_hard(record.steps[i]);
  }
  return interrupted ? "interrupted" : failed ? "failed" : "ok";
}

void journal_group_event(StepEnv& env, nlohmann::json event) {
  if (!env.journal) return;
  auto written = env.journal->append(std::move(event));
  if (!written && env.options.on_log) env.options.on_log("journal", redact(written.error().message));
}

// One member, start to end, with its progress callbacks. Whatever escapes (a callback that
// threw, memory) fails this member only: a thread must not take the process down.
void run_member(const plan::Step& step, StepRecord& record, size_t index, size_t total, StepEnv& env) {
  const auto& options = env.options;
  try {
    if (options.on_step_start) options.on_step_start(record, index, total);
    run_step(step, record, env);
  } catch (const std::exception& e) {
    record.status = StepStatus::Failed;
    record.failure_ignored = false;
    record.message = redact(fmt::format("internal error: {}", e.what()));
  }
  try {
    if (options.on_step_end) options.on_step_end(record, index, total);
  } catch (const std::exception&) {
    // The console could not show it; the record, the journal and the report still do.
  }
}

}  // namespace

BlockResult run_group(const plan::Plan& plan, size_t first, size_t end, RunRecord& record, StepEnv& env) {
  const auto& options = env.options;
  const size_t total = plan.steps.size();
  std::vector<size_t> todo;
  for (size_t i = first; i < end; ++i) {
    if (options.completed_steps.contains(plan.steps[i].id)) mark_done_earlier(record.steps[i]);
    else todo.push_back(i);
  }
  if (todo.empty()) return {};
  if (proc::cancel_requested()) return {.interrupted = true};

  nlohmann::json ids = nlohmann::json::array();
  std::vector<const StepRecord*> members;
  for (size_t i : todo) {
    record.steps[i].status = StepStatus::Running;
    ids.push_back(plan.steps[i].id);
    members.push_back(&record.steps[i]);
  }
  const std::string& group = plan.steps[first].group;
  journal_group_event(env, {{"event", "group_started"}, {"group", group}, {"steps", ids}});
  if (options.on_group_start) options.on_group_start(members, first + 1, end - first, total);

  if (options.dry_run) {
    // Nothing changes in a dry run: members go one at a time, in plan order, so that two dry
    // runs of one plan print the same lines.
    for (size_t i : todo) run_member(plan.steps[i], record.steps[i], i + 1, total, env);
  } else {
    std::vector<std::jthread> threads;
    threads.reserve(todo.size());
    for (size_t i : todo) {
      try {
        threads.emplace_back(run_member, std::cref(plan.steps[i]), std::ref(record.steps[i]), i + 1, total,
                             std::ref(env));
      } catch (const std::system_error&) {
        // No thread to be had (a process limit): the member still runs, on this thread.
        run_member(plan.steps[i], record.steps[i], i + 1, total, env);
      }
    }
  }  // the jthreads join here: the group ends when its last member ends

  BlockResult result;
  for (size_t i : todo) {
    StepRecord& member = record.steps[i];
    if (member.status == StepStatus::Running) member.status = StepStatus::Interrupted;  // never left half-told
    result.interrupted = result.interrupted || member.status == StepStatus::Interrupted;
    result.failed_hard = result.failed_hard || failed_hard(member);
  }
  result.interrupted = result.interrupted || proc::cancel_requested();
  journal_group_event(env, {{"event", "group_finished"}, {"group", group},
                            {"status", std::string(group_status(record, first, end))}});
  return result;
}

}  // namespace rollback::engine::detail
