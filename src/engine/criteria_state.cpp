// Criteria streaks for `rollback check`, persisted between invocations (see the header).
#include <rollback/engine/criteria_state.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <rollback/util/fs.hpp>
#include <rollback/util/time.hpp>

namespace rollback::engine {
namespace {

using nlohmann::json;

json time_json(const std::optional<SystemTime>& t) { return t ? json(format_utc(*t, kIsoSecondsUtc)) : json(); }

std::optional<SystemTime> time_from(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return parse_iso_utc(it->get<std::string>());
}

json to_json(const CriteriaState& state) {
  json plans = json::object();
  for (const auto& [plan, pc] : state.plans) {
    json criteria = json::object();
    for (const auto& [name, r] : pc.criteria)
      criteria[name] = {{"first_failed_at", time_json(r.first_failed_at)},
                        {"first_value", r.first_value},
                        {"last_value", r.last_value},
                        {"worst_value", r.worst_value},
                        {"worst_number", r.worst_number ? json(*r.worst_number) : json()},
                        {"consecutive_failures", r.consecutive_failures},
                        {"last_checked", time_json(r.last_checked)}};
    plans[plan] = {{"criteria", criteria},
                   {"last_auto_run_at", time_json(pc.last_auto_run_at)},
                   {"last_auto_run_id", pc.last_auto_run_id}};
  }
  return {{"version", 1}, {"plans", plans}};
}

// Throws (nlohmann::json's type errors, runtime_error) on a file of the wrong shape; the
// caller turns that into "ignored, start again".
CriteriaState from_json(const json& root) {
  CriteriaState state;
  if (!root.is_object() || !root.contains("plans") || !root["plans"].is_object())
    throw std::runtime_error("expected an object with \"plans\"");
  for (const auto& [plan, pj] : root["plans"].items()) {
    if (!pj.is_object()) throw std::runtime_error("plan \"" + plan + "\" is not an object");
    PlanCriteria pc;
    pc.last_auto_run_at = time_from(pj, "last_auto_run_at");
    pc.last_auto_run_id = pj.value("last_auto_run_id", "");
    if (pj.contains("criteria") && pj["criteria"].is_object()) {
      for (const auto& [name, cj] : pj["criteria"].items()) {
        if (!cj.is_object()) throw std::runtime_error("criterion \"" + name + "\" is not an object");
        CriterionRecord r;
        r.first_failed_at = time_from(cj, "first_failed_at");
        r.first_value = cj.value("first_value", "");
        r.last_value = cj.value("last_value", "");
        r.worst_value = cj.value("worst_value", "");
        if (auto w = cj.find("worst_number"); w != cj.end() && w->is_number()) r.worst_number = w->get<double>();
        r.consecutive_failures = cj.value("consecutive_failures", 0);
        r.last_checked = time_from(cj, "last_checked");
        pc.criteria[name] = std::move(r);
      }
    }
    state.plans[plan] = std::move(pc);
  }
  return state;
}

}  // namespace


CriteriaStateLock::CriteriaStateLock(const std::filesystem::path& state_file) {
  std::error_code ec;
  if (state_file.has_parent_path()) std::filesystem::create_directories(state_file.parent_path(), ec);
  auto path = state_file;
  path += ".lock";
  // Without the lock file the update is only unserialized, as before: never refuse a check.
  if (auto taken = FileLock::take(path, FileLock::Wait::Yes); taken && *taken) lock_ = std::move(**taken);
}

Criterion criterion_of(const plan::Criterion& c) {
  return {c.name, c.critical ? Severity::Critical : Severity::Warning, c.hold_for.value_or(Millis(0))};
}

LoadedCriteriaState load_criteria_state(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  auto text = read_file(path);
  if (!text)
    return {{}, fmt::format("{}: ignored ({}); failing streaks start again", path.string(),
                            text.error().message)};
  try {
    return {from_json(json::parse(*text)), ""};
  } catch (const std::exception& e) {
    return {{}, fmt::format("{}: ignored, not a criteria state file ({}); failing streaks "
                            "start again",
                            path.string(), e.what())};
  }
}

Status save_criteria_state(const CriteriaState& state, const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return fail(fmt::format("{}: cannot create {}: {}", path.string(),
                            path.parent_path().string(), ec.message()));
  return write_file_atomic(path, to_json(state).dump(2) + "\n");
}

namespace {

// Keeps the worst number a failing observation showed during the streak.
void note_worst(CriterionRecord& record, const std::vector<actions::Observation>& observations) {
  using Worse = actions::Observation::Worse;
  for (const auto& o : observations) {
    if (o.ok || !o.number || o.worse == Worse::Unknown) continue;
    bool worse = !record.worst_number || (o.worse == Worse::Higher ? *o.number > *record.worst_number
                                                                   : *o.number < *record.worst_number);
    if (!worse) continue;
    record.worst_number = o.number;
    record.worst_value = o.name + "=" + o.value;
  }
}

}  // namespace

Evaluation update(CriteriaState& state, const std::string& plan, const Criterion& criterion,
                  bool failed, std::string observed, SystemTime now,
                  const std::vector<actions::Observation>& observations) {
  auto& record = state.plans[plan].criteria[criterion.name];
  record.last_checked = now;
  record.last_value = observed;
  Evaluation e{criterion.name, criterion.severity, failed,   false,
               Millis(0),      0,                  std::move(observed), criterion.hold_for};
  if (!failed) {
    record.first_failed_at.reset();
    record.consecutive_failures = 0;
    record.first_value.clear();
    record.worst_value.clear();
    record.worst_number.reset();
    return e;
  }
  if (!record.first_failed_at || record.first_value.empty()) {
    if (!record.first_failed_at) record.first_failed_at = now;
    record.first_value = record.last_value;
  }
  note_worst(record, observations);
  e.failing_since = record.first_failed_at;
  e.first_value = record.first_value;
  e.worst_value = record.worst_value;
  ++record.consecutive_failures;
  e.failing_for = std::max(Millis(0),
                           std::chrono::duration_cast<Millis>(now - *record.first_failed_at));
  e.consecutive_failures = record.consecutive_failures;
  e.holding = e.failing_for >= criterion.hold_for;
  return e;
}

Verdict summarize(const std::vector<Evaluation>& evaluations) {
  Verdict v;
  for (const auto& e : evaluations) {
    if (e.holding)
      (e.severity == Severity::Critical ? v.critical_holding : v.warning_holding).push_back(e.name);
    else if (e.failing)
      v.failing_not_holding.push_back(e.name);
  }
  v.exit = !v.critical_holding.empty() ? ExitCode::CheckCritical
           : !v.warning_holding.empty() ? ExitCode::CheckWarning
                                        : ExitCode::Success;
  return v;
}

std::string format_evaluation(const Evaluation& e) {
  std::string head = fmt::format("{} {}", e.severity == Severity::Critical ? "critical" : "warning",
                                 e.name);
  if (!e.failing) return fmt::format("{}: ok (saw: {})", head, e.value);
  return fmt::format("{}: failing for {} ({} check{}), {} {}; saw: {}", head,
                     format_duration(e.failing_for), e.consecutive_failures,
                     e.consecutive_failures == 1 ? "" : "s", e.holding ? "holds at" : "would hold at",
                     format_duration(e.hold_for), e.value);
}

CheckDecision decide_check(CriteriaState& state, const std::string& plan,
                           const std::vector<ProbeResult>& probes, bool auto_mode,
                           Millis cooldown, SystemTime now) {
  CheckDecision d;
  std::vector<std::string> names;
  for (const auto& p : probes) {
    names.push_back(p.criterion.name);
    d.evaluations.push_back(update(state, plan, p.criterion, p.failed, p.observed, now, p.observations));
    if (p.failed) d.evaluations.back().source_began = p.began;
  }
  forget_other_criteria(state, plan, names);
  d.verdict = summarize(d.evaluations);
  if (d.verdict.exit == ExitCode::CheckCritical) {
    d.cooling_down = in_cooldown(state, plan, cooldown, now);
    d.run_plan = auto_mode && !d.cooling_down;
  }
  return d;
}

bool in_cooldown(const CriteriaState& state, const std::string& plan, Millis cooldown,
                 SystemTime now) {
  auto it = state.plans.find(plan);
  if (it == state.plans.end() || !it->second.last_auto_run_at) return false;
  // A last run "in the future" (clock stepped back) also counts as recent: better one
  // cooldown too long than two unattended rollbacks in a row.
  return now - *it->second.last_auto_run_at < cooldown;
}

void record_auto_run(CriteriaState& state, const std::string& plan, const std::string& run_id,
                     SystemTime now) {
  auto& pc = state.plans[plan];
  pc.last_auto_run_at = now;
  pc.last_auto_run_id = run_id;
  for (auto& [name, record] : pc.criteria) {
    record.first_failed_at.reset();
    record.consecutive_failures = 0;
    record.first_value.clear();
    record.worst_value.clear();
    record.worst_number.reset();
  }
}

json incident_of(const CheckDecision& decision) {
  std::optional<SystemTime> began;
  json fired = json::array(), criteria = json::array();
  for (const auto& e : decision.evaluations) {
    bool critical = e.severity == Severity::Critical;
    if (e.holding && critical) {
      fired.push_back(e.name);
      for (const auto& since : {e.failing_since, e.source_began})
        if (since && (!began || *since < *began)) began = since;
    }
    if (!e.failing) continue;
    criteria.push_back({{"name", e.name},
                        {"critical", critical},
                        {"fired", e.holding && critical},
                        {"failing_since", time_json(e.failing_since)},
                        {"checks", e.consecutive_failures},
                        {"for_ms", e.hold_for.count()},
                        {"first", e.first_value},
                        {"last", e.value},
                        {"worst", e.worst_value}});
  }
  return {{"began", time_json(began)}, {"fired", fired}, {"criteria", criteria}};
}

void forget_other_criteria(CriteriaState& state, const std::string& plan,
                           const std::vector<std::string>& current_names) {
  auto it = state.plans.find(plan);
  if (it == state.plans.end()) return;
  std::erase_if(it->second.criteria, [&](const auto& entry) {
    return std::find(current_names.begin(), current_names.end(), entry.first) ==
           current_names.end();
  });
}

}  // namespace rollback::engine
