// The plan's `fallback:` and its plan-level `notify:` list (shared/spec.md, "Plan files").
// A fallback on `failed` is checked against the steps here, so a plan whose failure could
// leave things half changed before the fallback starts is refused at load time.
#include <fmt/format.h>

#include <rollback/plan/fallback.hpp>

#include "loader_internal.hpp"

namespace rollback::plan::detail {

const std::vector<std::string> kFallbackKeys = {"plan", "when", "target", "note"};
const std::vector<std::string> kFallbackWhen = {"preflight", "failed"};
const std::vector<std::string> kNotifyKeys = {"action", "with"};

namespace {

bool step_reads_only(const Loader& l, const Step& step) { return plan::step_reads_only(l.catalog, step); }
bool failure_changes_nothing(const Loader& l, const Step& step) {
  return step_failure_changes_nothing(l.catalog, step);
}

// `failed` holds only where nothing half changed can be left behind: before a step whose
// failure may hand over to the fallback, every step that can complete (earlier blocks,
// other members of its own parallel group) must read only. A step that changes things ends
// the part of the plan that can fall back; one that does so before a step whose action
// declares its failure harmless (coolify.rollback) is refused, because that failure would
// then hand a half-changed system to the fallback.
void check_failed_rule(Loader& l, const FallbackSpec& spec) {
  const auto& steps = l.plan.steps;
  const Step* first_change = nullptr;
  bool any_trigger = false;
  for (size_t first = 0; first < steps.size(); first = l.plan.block_end(first)) {
    size_t end = l.plan.block_end(first);
    for (size_t i = first; i < end; ++i) {
      const Step& step = steps[i];
      if (step_reads_only(l, step) || !failure_changes_nothing(l, step)) continue;
      const Step* before = first_change;
      for (size_t j = first; j < end && !before; ++j)
        if (j != i && !step_reads_only(l, steps[j])) before = &steps[j];
      if (before)
        l.r.error(step.where,
                  fmt::format("fallback: `failed` would hand over after step '{}' fails, but step '{}' ({}) changes "
                              "things and could have completed before it: the fallback would start from a half-changed "
                              "system. Move '{}' after '{}', or drop `failed` from fallback.when (fallback at line {})",
                              step.id, before->id, before->action, before->id, step.id, spec.where.line));
    }
    for (size_t i = first; i < end; ++i)
      if (!first_change && failure_changes_nothing(l, steps[i])) any_trigger = true;
    for (size_t i = first; i < end; ++i)
      if (!first_change && !step_reads_only(l, steps[i])) first_change = &steps[i];
  }
  if (!any_trigger && first_change)
    l.r.error(spec.where, fmt::format("fallback: `failed` can never apply: the first step, '{}' ({}), changes things "
                                      "and its action does not declare that a failure leaves things as they were; "
                                      "use when: [preflight]",
                                      first_change->id, first_change->action));
}

}  // namespace

void read_fallback(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("fallback: expected a map such as {{plan: git-sql, when: [preflight, failed]}}, got {}",
                                describe(node)));
    return;
  }
  const std::string context = "fallback";
  MapView map(l.r, node, kFallbackKeys, context);
  FallbackSpec spec;
  spec.where = l.r.where(node);
  if (auto name = get_text(l.r, map, "plan", context)) {
    if (name->empty() || name->find("${") != std::string::npos)
      l.r.error(map.get("plan"), "fallback.plan: expected the name of a plan in the plans dir");
    else if (*name == l.plan.name)
      l.r.error(map.get("plan"), fmt::format("fallback.plan: plan '{}' cannot fall back to itself", *name));
    spec.plan = *name;
  } else if (!map.has_value("plan")) {
    l.r.error(node, "fallback: missing required key 'plan'");
  }
  if (auto target = get_text(l.r, map, "target", context)) {
    if (target->empty() || target->find("${") != std::string::npos)
      l.r.error(map.get("target"), "fallback.target: expected a target of the fallback plan as text (a name, a "
                                   "unique prefix, latest or previous)");
    spec.target = *target;
  }
  spec.note = get_text(l.r, map, "note", context).value_or("");
  YAML::Node when = map.get("when");
  if (!when.IsDefined() || when.IsNull()) {
    l.r.error(node, "fallback: missing required key 'when' (preflight, failed, or both)");
  } else if (auto items = get_text_list(l.r, map, "when", context)) {
    for (size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      const YAML::Node& at = when.IsSequence() ? when[i] : when;
      if (item == "preflight") spec.on_preflight = true;
      else if (item == "failed") spec.on_failed = true;
      else
        l.r.error(at, fmt::format("fallback.when: unknown '{}'; expected preflight or failed{}", item,
                                  suggestion(item, kFallbackWhen)));
    }
  }
  if (spec.on_failed) check_failed_rule(l, spec);
  l.plan.fallback = std::move(spec);
}

void read_notify(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) {
    l.r.error(node, fmt::format("notify: expected a list of {{action: notify.webhook, with: {{...}}}}, got {}",
                                describe(node)));
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    std::string context = fmt::format("notify[{}]", i);
    if (!node[i].IsMap()) {
      l.r.error(node[i], fmt::format("{}: expected {{action: notify.webhook, with: {{...}}}}, got {}", context,
                                     describe(node[i])));
      continue;
    }
    MapView map(l.r, node[i], kNotifyKeys, context);
    NotifyCall call;
    call.where = l.r.where(node[i]);
    call.with = map.get("with");
    auto name = get_text(l.r, map, "action", context);
    if (!name) {
      if (!map.has_value("action")) l.r.error(node[i], context + ": missing required key 'action'");
      continue;
    }
    call.action = *name;
    const ActionSchema* action = l.catalog.schema(*name);
    if (!action || !name->starts_with("notify.")) {
      std::vector<std::string> notifiers;
      for (const auto& known : l.catalog.names())
        if (known.starts_with("notify.")) notifiers.push_back(known);
      l.r.error(map.get("action"), fmt::format("{}: '{}' is not a notify action (known: {}){}", context, *name,
                                               join(notifiers), suggestion(*name, notifiers)));
      continue;
    }
    check_params(l, call.with, *action, context, "with", call.where, RefPlace::Notify);
    l.plan.notify.push_back(std::move(call));
  }
}

}  // namespace rollback::plan::detail
