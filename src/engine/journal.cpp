#include <rollback/engine/journal.hpp>

#include <fmt/format.h>

#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine {
namespace {

using nlohmann::json;

std::vector<std::string> str_list(const json& j, const char* key) {
  std::vector<std::string> out;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const auto& item : *it)
      if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

void apply_planned_steps(RunRecord& record, const json& e);

StepRecord* find_step(RunRecord& record, const std::string& id) {
  for (auto& step : record.steps)
    if (step.id == id) return &step;
  record.steps.push_back(StepRecord{});
  record.steps.back().id = id;
  return &record.steps.back();
}

void apply_run_started(RunRecord& record, const json& e) {
  if (e.value("resumed", false) && !record.run_id.empty()) {
    RunRecord::Resumption r;
    r.interrupted = record.last_event.value_or(record.started);
    if (auto t = parse_iso_utc(json_text(e, "time"))) r.resumed = *t;
    if (auto sha = json_text(e, "plan_sha256"); sha != record.plan_sha256) r.plan_sha256 = sha;
    record.resumptions.push_back(std::move(r));
    record.ended.reset();
    return apply_planned_steps(record, e);
  }
  record.run_id = json_text(e, "run_id");
  record.plan_sha256 = json_text(e, "plan_sha256");
  record.plan_name = json_text(e, "plan");
  record.plan_path = json_text(e, "plan_path");
  if (auto kind = plan::parse_kind(json_text(e, "kind"))) record.kind = *kind;
  record.title = json_text(e, "title");
  record.operator_name = json_text(e, "operator");
  record.reason = json_text(e, "reason");
  record.host = json_text(e, "host");
  record.target_name = json_text(e, "target");
  record.target_path = json_text(e, "target_path");
  record.from_version = json_text(e, "from_version");
  record.to_version = json_text(e, "to_version");
  if (auto t = parse_iso_utc(json_text(e, "started"))) record.started = *t;
  if (auto it = e.find("budget_ms"); it != e.end() && it->is_number())
    record.budget = Millis(it->get<long long>());
  record.dry_run = e.value("dry_run", false);
  record.rehearsal = e.value("rehearsal", false);
  record.unattended = e.value("unattended", false);
  if (auto it = e.find("vars"); it != e.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) record.vars[k] = v.get<std::string>();
  if (auto it = e.find("report"); it != e.end() && it->is_object()) {
    record.report.title = json_text(*it, "title");
    record.report.contacts = str_list(*it, "contacts");
    record.report.checklist = str_list(*it, "checklist");
    record.report.follow_up = str_list(*it, "follow_up");
    if (auto lang = json_text(*it, "lang"); !lang.empty()) record.report.lang = lang;
  }
  if (auto it = e.find("overrides"); it != e.end() && it->is_object()) record.extra["overrides"] = *it;
  if (auto it = e.find("incident"); it != e.end() && it->is_object()) record.extra["incident"] = *it;
  apply_planned_steps(record, e);
}

// A resumed run writes run_started again: keep what earlier events said about steps.
void apply_planned_steps(RunRecord& record, const json& e) {
  if (auto it = e.find("steps"); it != e.end() && it->is_array())
    for (const auto& s : *it) {
      auto planned = step_from_json(s);
      StepRecord* step = find_step(record, planned.id);
      step->name = planned.name;
      step->action = planned.action;
      step->phase = planned.phase;
      step->destructive = planned.destructive;
      step->group = planned.group;
      step->group_name = planned.group_name;
    }
}

Status apply_event(RunRecord& record, const json& e) {
  auto event = json_text(e, "event");
  if (event == "run_started") {
    apply_run_started(record, e);
  } else if (event == "step_started") {
    StepRecord* step = find_step(record, json_text(e, "step"));
    step->status = StepStatus::Running;
    if (auto name = json_text(e, "name"); !name.empty()) step->name = name;
    if (auto t = parse_iso_utc(json_text(e, "started"))) step->started = *t;
  } else if (event == "step_finished") {
    auto done = step_from_json(e);
    done.id = json_text(e, "step");
    StepRecord* step = find_step(record, done.id);
    if (done.name.empty()) done.name = step->name;
    done.notes.insert(step->notes.begin(), step->notes.end());  // notes of earlier attempts
    *step = std::move(done);
  } else if (event == "step_note") {
    find_step(record, json_text(e, "step"))->notes[json_text(e, "key")] = json_text(e, "value");
  } else if (event == "var_set") {
    record.vars[json_text(e, "name")] = json_text(e, "value");
  } else if (event == "resource_held" || event == "resource_released") {
    HeldResource r{json_text(e, "step"), json_text(e, "action"), e.value("resource", json::object())};
    auto same = [&](const HeldResource& h) { return h.action == r.action && h.resource == r.resource; };
    if (event == "resource_held") record.held.push_back(std::move(r));
    else std::erase_if(record.held, same);
  } else if (event == "targets_pruned") {
    json retention = e;
    retention.erase("event");
    retention.erase("time");
    record.extra["retention"] = std::move(retention);
  } else if (event == "fallback") {
    // The first plan's record is complete; what follows is the fallback plan's.
    RunRecord first = std::move(record);
    first.handed_over = json_text(e, "why");
    record = RunRecord{};
    record.fallback_note = json_text(e, "note");
    record.fell_back_from.push_back(std::move(first));
  } else if (event == "notified") {
    auto sent = step_from_json(e);
    sent.id = json_text(e, "step");
    record.notifications.push_back(std::move(sent));
  } else if (event == "report_written") {
    record.extra["report"] = json_text(e, "path");
  } else if (event == "run_finished") {
    record.result = static_cast<ExitCode>(e.value("result", 0));
    record.result_message = json_text(e, "message");
    record.failing_step = json_text(e, "failing_step");
    if (auto t = parse_iso_utc(json_text(e, "ended"))) record.ended = *t;
    if (auto it = e.find("vars"); it != e.end() && it->is_object())
      for (const auto& [k, v] : it->items())
        if (v.is_string()) record.vars[k] = v.get<std::string>();
  }
  return ok();
}

}  // namespace

Status Journal::reserve(size_t steps) { return reserve_space(file_, reserve_bytes(steps), /*beyond_end=*/true); }

Status Journal::append(json event) {
  if (!event.contains("time")) event["time"] = format_iso_utc(std::chrono::system_clock::now());
  // Redact the whole dumped line: a secret may hide in any field (a message, a var, data).
  std::string line = redact(event.dump());
  std::lock_guard lock(mutex_);
  auto written = append_line_synced(file_, line);
  if (!written) {
    if (lost_.empty()) lost_ = written.error().message;
    ++lost_events_;
  }
  return written;
}

json run_started_event(const RunRecord& record) {
  json steps = json::array();
  for (const auto& step : record.steps) {
    json planned = {{"id", step.id},
                    {"name", step.name},
                    {"action", step.action},
                    {"phase", std::string(plan::to_string(step.phase))},
                    {"destructive", step.destructive}};
    if (!step.group.empty()) planned["group"] = step.group;
    if (!step.group_name.empty()) planned["group_name"] = step.group_name;
    steps.push_back(std::move(planned));
  }
  json e = {{"event", "run_started"},
            {"run_id", record.run_id},
            {"plan", record.plan_name},
            {"plan_path", record.plan_path},
            {"plan_sha256", record.plan_sha256},
            {"kind", std::string(plan::to_string(record.kind))},
            {"title", record.title},
            {"operator", record.operator_name},
            {"reason", record.reason},
            {"host", record.host},
            {"target", record.target_name},
            {"target_path", record.target_path},
            {"from_version", record.from_version},
            {"to_version", record.to_version},
            {"started", format_iso_utc(record.started)},
            {"dry_run", record.dry_run},
            {"rehearsal", record.rehearsal},
            {"vars", record.vars},
            {"report",
             {{"title", record.report.title},
              {"contacts", record.report.contacts},
              {"checklist", record.report.checklist},
              {"follow_up", record.report.follow_up},
              {"lang", record.report.lang}}},
            {"steps", std::move(steps)}};
  if (record.budget) e["budget_ms"] = record.budget->count();
  if (record.unattended) e["unattended"] = true;
  // What the operator passed (--var/--vars), so `resume` binds the same values.
  if (auto it = record.extra.find("overrides"); it != record.extra.end()) e["overrides"] = *it;
  if (auto it = record.extra.find("incident"); it != record.extra.end()) e["incident"] = *it;
  return e;
}

json run_finished_event(const RunRecord& record) {
  json e = {{"event", "run_finished"},
            {"result", to_int(record.result)},
            {"message", record.result_message},
            {"vars", record.vars}};
  if (!record.failing_step.empty()) e["failing_step"] = record.failing_step;
  if (record.ended) e["ended"] = format_iso_utc(*record.ended);
  return e;
}

Result<RunRecord> read_journal(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) return std::unexpected(text.error());
  RunRecord record;
  std::string_view rest = *text;
  int line_no = 0;
  bool any = false;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    bool last = nl == std::string_view::npos || nl + 1 == rest.size();
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object()) {
      // A crash mid-write leaves a torn last line; anything torn earlier is corruption.
      if (last) break;
      return fail(fmt::format("{}:{}: not a JSON journal event", file.string(), line_no));
    }
    RB_TRY(apply_event(record, event));
    if (auto t = parse_iso_utc(json_text(event, "time"))) record.last_event = *t;
    any = true;
  }
  if (!any) return fail(fmt::format("{}: empty journal", file.string()));
  return record;
}

}  // namespace rollback::engine
