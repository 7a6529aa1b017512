#include <rollback/engine/notify_list.hpp>

#include <algorithm>
#include <fmt/format.h>
#include <set>

#include <rollback/engine/probe.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::engine {
namespace {

StepRecord record_for(const plan::NotifyCall& call, size_t index) {
  StepRecord record;
  record.id = fmt::format("notify-{}", index + 1);
  record.name = call.action;
  record.action = call.action;
  record.phase = plan::Phase::Notify;
  return record;
}

// The first required parameter that resolved to blank text: the notification is not set up.
std::string unset_required(const actions::Action& action, const plan::Params& params) {
  auto blank = [](const nlohmann::json& value) {
    if (value.is_string()) return trim(value.get<std::string>()).empty();
    if (value.is_array())  // `to: [${oncall_email}]` with the var empty
      return std::all_of(value.begin(), value.end(),
                         [](const auto& item) { return item.is_string() && trim(item.template get<std::string>()).empty(); });
    return value.is_null();
  };
  for (const auto& spec : action.params)
    if (spec.required && blank(params.raw(spec.name))) return spec.name;
  return "";
}

}  // namespace

std::vector<StepRecord> send_notifications(const actions::Registry& registry, proc::Runner& runner,
                                           const std::vector<plan::NotifyCall>& calls, const plan::Scope& scope,
                                           Millis timeout_each, std::set<std::string>& seen) {
  std::vector<StepRecord> sent;
  for (size_t i = 0; i < calls.size(); ++i) {
    StepRecord record = record_for(calls[i], i);
    const auto* action = registry.find(calls[i].action);
    auto params = action ? plan::resolve_params(calls[i].with, scope, action->params)
                         : Result<plan::Params>(fail("unknown action " + calls[i].action));
    auto started = std::chrono::system_clock::now();
    record.started = started;
    if (!params) {
      record.status = StepStatus::Failed;
      record.message = redact("not sent: " + params.error().message);
    } else if (auto unset = unset_required(*action, *params); !unset.empty()) {
      record.status = StepStatus::Skipped;
      record.message = fmt::format("not configured: {} is empty", unset);
    } else if (!seen.insert(calls[i].action + " " + params->all().dump()).second) {
      continue;  // the same notification, already sent for this run
    } else {
      auto ctx = outside_step_context(runner, record.id, timeout_each);
      ctx.survives_cancel = true;  // an interrupted run is still told about
      auto outcome = action->run(ctx, *params);
      record.status = outcome.ok ? StepStatus::Ok : StepStatus::Failed;
      record.message = redact(outcome.message);
      record.data = outcome.data;
      record.attempts = 1;
    }
    record.ended = std::chrono::system_clock::now();
    record.duration = std::chrono::duration_cast<Millis>(*record.ended - started);
    sent.push_back(std::move(record));
  }
  return sent;
}

}  // namespace rollback::engine
