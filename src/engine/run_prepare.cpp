// A run's first stage (src/engine/run_session.hpp): its identity, its vars and secrets,
// and its target, resolved and proved through the target catalog before anything runs.
#include "run_session.hpp"

#include <fmt/format.h>

#include <random>

#include <rollback/engine/app_logs.hpp>
#include <rollback/plan/vars.hpp>
#include <rollback/util/disk.hpp>
#include <rollback/util/duration.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/time.hpp>

namespace rollback::engine {

std::string new_run_id(const std::string& plan_name, SystemTime started) {
  std::random_device rd;
  return fmt::format("{}-{}-{:04x}", format_utc(started, kCompactUtc), plan_name, rd() & 0xffff);
}

std::optional<SystemTime> parse_since(std::string_view text, SystemTime now) {
  if (auto at = parse_iso_utc(text)) return at;
  if (auto ago = parse_duration(text)) return now - *ago;
  return std::nullopt;
}

Result<std::map<std::string, std::string>> request_overrides(const RunRequest& request) {
  return detail::collect_overrides(request);
}

Status bind_request(const plan::Plan& plan, const RunRequest& request, plan::Scope& scope, bool need_secrets) {
  auto overrides = detail::collect_overrides(request);
  if (!overrides) return std::unexpected(overrides.error());
  // "yes" when a person started the run, "" under `check --auto`: a plan can keep what only
  // a person should decide (restoring a dump) out of unattended runs.
  scope.set_builtin("run.attended", request.unattended ? "" : "yes");
  if (auto secrets = plan::load_secrets(plan, scope); !secrets && need_secrets) return std::unexpected(secrets.error());
  return plan::bind_vars(plan, scope, *overrides);
}

}  // namespace rollback::engine

namespace rollback::engine::detail {

Result<std::map<std::string, std::string>> collect_overrides(const RunRequest& args) {
  std::map<std::string, std::string> overrides;
  if (!args.vars_file.empty()) {
    auto from_file = plan::load_vars_file(args.vars_file);
    if (!from_file) return std::unexpected(from_file.error());
    overrides = *from_file;
  }
  for (const auto& kv : args.vars) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return fail(fmt::format("--var {}: expected KEY=VALUE", kv));
    overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return overrides;
}

std::string what_changed(const RunRecord& record) {
  std::string changed;
  for (const auto& s : record.steps) {
    bool touched = s.status == StepStatus::Ok || s.status == StepStatus::Failed ||
                   s.status == StepStatus::Interrupted || s.status == StepStatus::Running;
    if (s.destructive && touched) changed += fmt::format("{}{} ({})", changed.empty() ? "" : ", ", s.id, to_string(s.status));
  }
  if (changed.empty()) return "nothing was changed";
  return "nothing more was changed, but earlier attempts of this run changed things: " + changed;
}

std::string destructive_step_ids(const plan::Plan& plan) {
  std::string ids;
  for (const auto& step : plan.steps)
    if (step.destructive) ids += (ids.empty() ? "" : ", ") + step.id;
  return ids;
}

int bind_scope(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args, plan::Scope& scope) {
  if (auto bound = bind_request(plan, args, scope); !bound) {
    deps.observer.error(bound.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }
  return 0;
}

int prepare_run(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args, PreparedRun& run) {
  auto& record = run.record;
  record.started = std::chrono::system_clock::now();
  record.run_id = !args.run_id.empty() ? args.run_id : new_run_id(plan.name, record.started);
  record.plan_name = plan.name;
  record.plan_path = plan.path.string();
  record.plan_sha256 = plan.sha256;
  record.kind = plan.kind;
  record.title = !plan.report.title.empty() ? plan.report.title
                 : !plan.description.empty() ? plan.description
                                             : plan.name;
  record.operator_name = args.operator_name.empty() ? deps.login_name : args.operator_name;
  record.reason = args.reason;
  record.host = deps.host;
  record.budget = plan.budget;
  record.dry_run = args.dry_run;
  record.unattended = args.unattended;
  record.report = plan.report;
  run.run_dir = deps.state_dir / "runs" / record.run_id;
  return bind_and_resolve_target(deps, plan, args, run);
}

namespace {

// The picker's answer, or the plan's default / --target.
std::optional<std::string> wanted_target(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args,
                                         const TargetCatalog& catalog, const plan::Scope& scope, int& code) {
  std::string wanted = args.target.empty() ? plan.target.default_target : args.target;
  if (!wanted.empty() && wanted != "none") return wanted;
  if (args.unattended || !deps.observer.interactive()) {
    deps.observer.error(fmt::format("plan '{}' needs --target (see `rollback targets {}` for what exists). "
                                    "Nothing ran.",
                                    plan.name, plan.name));
    code = to_int(ExitCode::Usage);
    return std::nullopt;
  }
  auto rows = catalog.rows(scope, {});
  if (!rows || rows->empty()) {
    deps.observer.error(rows ? fmt::format("plan '{}' needs a target and there is none (`rollback targets {}`). "
                                           "Nothing ran.",
                                           plan.name, plan.name)
                             : fmt::format("cannot list the targets of plan '{}': {}. Nothing ran.", plan.name,
                                           rows.error().message));
    code = to_int(ExitCode::PreflightFailed);
    return std::nullopt;
  }
  auto picked = deps.observer.pick_target(plan, *rows);
  if (!picked) code = to_int(ExitCode::Usage);
  return picked;
}

}  // namespace

// An off-host-only target came down before anything ran: the report says from where.
static void note_downloads(const RunDeps& deps, const TargetCatalog& catalog, RunRecord& record) {
  for (const auto& d : catalog.downloads()) {
    record.extra["offsite_download"] = {
        {"name", d.name},   {"from", d.remote},     {"kept_at", d.kept_at}, {"bytes", d.bytes},
        {"files", d.files}, {"checked", d.checked}, {"seconds", d.seconds}};
    deps.observer.note(redact(
        fmt::format("target {} was only off-host: downloaded from {} ({} file(s), {}, {:.1f}s), "
                    "proved whole, kept at {}",
                    d.name, d.remote, d.files, human_size(d.bytes), d.seconds, d.kept_at)));
  }
}

int bind_and_resolve_target(const RunDeps& deps, const plan::Plan& plan, const RunRequest& args, PreparedRun& run) {
  auto& record = run.record;
  run.scope.set_builtin("run.id", record.run_id);
  run.scope.set_builtin("run.started", format_utc(record.started, kCompactUtc));
  if (int code = bind_scope(deps, plan, args, run.scope); code != 0) return code;
  auto overrides = collect_overrides(args).value_or(std::map<std::string, std::string>{});
  if (!overrides.empty()) record.extra["overrides"] = overrides;

  // A backup plan's target section describes the targets it makes: it restores from none.
  if (plan.target.from.empty() || plan.kind == plan::Kind::Backup) {
    if (args.target.empty()) return 0;
    deps.observer.error(
        plan.target.from.empty()
            ? fmt::format("--target {}: plan '{}' takes no target. Nothing ran.", args.target, plan.name)
            : fmt::format("--target {}: plan '{}' is a backup plan: it makes targets and takes none (its target "
                          "section describes what it makes). Nothing ran.",
                          args.target, plan.name));
    return to_int(ExitCode::Usage);
  }
  TargetCatalog catalog(plan, deps.registry.targets(), overrides);
  int code = 0;
  auto wanted = wanted_target(deps, plan, args, catalog, run.scope, code);
  if (!wanted) return code;
  auto resolved = catalog.resolve(run.scope, *wanted);
  if (!resolved) {
    record.result_message =
        redact(fmt::format("target '{}': {}; {}", *wanted, resolved.error().message, what_changed(record)));
    deps.observer.error(fmt::format("target '{}': {}\n{}.", *wanted, resolved.error().message, what_changed(record)));
    return to_int(ExitCode::PreflightFailed);
  }
  // `latest` skipped newer targets that do not verify: say which and why, here and in the report.
  for (const auto& line : resolved->passed_over)
    deps.observer.warn(fmt::format("note: --target {} passed over {}", *wanted, line));
  if (!resolved->passed_over.empty()) record.extra["passed_over"] = resolved->passed_over;
  note_downloads(deps, catalog, record);
  run.scope = std::move(resolved->scope);
  record.target_name = resolved->target.name;
  record.target_path = resolved->target.path;
  run.target = std::move(resolved->target);
  return 0;
}

void note_incident(const RunDeps& deps, const plan::Plan& plan, PreparedRun& run, const RunRequest& args) {
  nlohmann::json incident = args.incident;
  auto now = std::chrono::system_clock::now();
  if (incident.is_null() && !args.since.empty())
    if (auto since = parse_since(args.since, now)) incident = {{"began", format_iso_utc(*since)}, {"given", "--since"}};
  if (incident.is_null()) return;
  if (!incident.contains("logs")) {
    auto began = parse_iso_utc(incident.value("began", "")).value_or(now - std::chrono::minutes(30));
    auto from = began - std::chrono::minutes(1);
    auto logs = collect_app_logs(deps.registry, deps.runner, plan, run.scope, from, Millis(60'000));
    incident["logs"] = {
        {"since", format_iso_utc(from)}, {"source", logs.source}, {"excerpt", logs.excerpt}, {"problem", logs.problem}};
  }
  run.record.extra["incident"] = std::move(incident);
}

}  // namespace rollback::engine::detail
