#include <rollback/cli/run_support.hpp>

#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <csignal>
#include <random>
#include <unistd.h>

#include <rollback/actions/action.hpp>
#include <rollback/cli/target_table.hpp>
#include <rollback/engine/notify_list.hpp>
#include <rollback/plan/vars.hpp>
#include <rollback/report/report.hpp>
#include <rollback/engine/run_record.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

// Each notification of the plan-level list: a webhook or relay down in the same incident
// must not hold the run's end for long.
constexpr Millis kNotifyTimeout{15'000};

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:04x}", rd() & 0xffff);
}

}  // namespace

Result<std::map<std::string, std::string>> collect_overrides(const RunArgs& args) {
  std::map<std::string, std::string> overrides;
  if (!args.vars_file.empty()) {
    auto from_file = plan::load_vars_file(args.vars_file);
    if (!from_file) return std::unexpected(from_file.error());
    overrides = *from_file;
  }
  for (const auto& kv : args.vars) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(fmt::format("--var {}: expected KEY=VALUE", kv));
    overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return overrides;
}

std::string new_run_id(const std::string& plan_name, engine::SystemTime started) {
  return fmt::format("{}-{}-{}", format_utc(started, kCompactUtc), plan_name, random_suffix());
}

std::string what_changed(const engine::RunRecord& record) {
  std::string changed;
  for (const auto& s : record.steps) {
    bool touched = s.status == engine::StepStatus::Ok || s.status == engine::StepStatus::Failed ||
                   s.status == engine::StepStatus::Interrupted || s.status == engine::StepStatus::Running;
    if (s.destructive && touched)
      changed += fmt::format("{}{} ({})", changed.empty() ? "" : ", ", s.id, engine::to_string(s.status));
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

int bind_scope(const plan::Plan& plan, const RunArgs& args, plan::Scope& scope, bool need_secrets) {
  auto overrides = collect_overrides(args);
  if (!overrides) {
    print_error(overrides.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }
  // "yes" when a person started the run, "" under `check --auto`: a plan can keep what only
  // a person should decide (restoring a dump) out of unattended runs.
  scope.set_builtin("run.attended", args.unattended ? "" : "yes");
  if (auto secrets = plan::load_secrets(plan, scope); !secrets && need_secrets) {
    print_error(secrets.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }
  if (auto bound = plan::bind_vars(plan, scope, *overrides); !bound) {
    print_error(bound.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }
  return 0;
}

int prepare_run(const plan::Plan& plan, const RunArgs& args, const GlobalOptions& global,
                PreparedRun& run) {
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
  record.operator_name = args.operator_name.empty() ? login_name() : args.operator_name;
  record.reason = args.reason;
  record.host = host_name();
  record.budget = plan.budget;
  record.dry_run = args.dry_run;
  record.unattended = args.unattended;
  record.report = plan.report;
  run.run_dir = state_dir(global) / "runs" / record.run_id;

  return bind_and_resolve_target(plan, args, run);
}

int bind_and_resolve_target(const plan::Plan& plan, const RunArgs& args, PreparedRun& run) {
  auto& record = run.record;
  run.scope.set_builtin("run.id", record.run_id);
  run.scope.set_builtin("run.started", format_utc(record.started, kCompactUtc));

  if (int code = bind_scope(plan, args, run.scope); code != 0) return code;
  if (auto overrides = collect_overrides(args); overrides && !overrides->empty())
    record.extra["overrides"] = *overrides;

  // A backup plan's target section describes the targets it makes (for `rollback targets`
  // and pruning): it restores from none.
  if (plan.target.from.empty() || plan.kind == plan::Kind::Backup) {
    if (!args.target.empty()) {
      print_error(plan.target.from.empty()
                      ? fmt::format("--target {}: plan '{}' takes no target. Nothing ran.", args.target, plan.name)
                      : fmt::format("--target {}: plan '{}' is a backup plan: it makes targets and takes none (its "
                                    "target section describes what it makes). Nothing ran.",
                                    args.target, plan.name));
      return to_int(ExitCode::Usage);
    }
    return 0;
  }
  std::string wanted = args.target.empty() ? plan.target.default_target : args.target;
  auto overrides = collect_overrides(args).value_or(std::map<std::string, std::string>{});
  std::optional<plan::Target> target;
  if ((wanted.empty() || wanted == "none") && !args.unattended && ::isatty(STDIN_FILENO)) {
    int code = pick_on_terminal(plan, run.scope, overrides, target);
    if (code != 0) return code;
  } else if (wanted.empty() || wanted == "none") {
    print_error(fmt::format("plan '{}' needs --target (see `rollback targets {}` for what exists). "
                            "Nothing ran.", plan.name, plan.name));
    return to_int(ExitCode::Usage);
  } else {
    auto resolved = plan::resolve_target(plan.target, run.scope, actions::builtin_registry().targets(), wanted);
    if (!resolved) {
      record.result_message = redact(fmt::format("target '{}': {}; {}", wanted, resolved.error().message,
                                                 what_changed(record)));
      print_error(fmt::format("target '{}': {}. {}.", wanted, resolved.error().message, what_changed(record)));
      return to_int(ExitCode::PreflightFailed);
    }
    target = std::move(*resolved);
  }
  // Vars that use ${target.*} can only be bound now; `require` may use them.
  auto scope = scope_with_target(plan, run.scope, *target, overrides);
  if (!scope) {
    print_error(scope.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }
  auto verification = check_target(plan, *target, *scope);
  if (!verification.ok) {
    record.result_message = redact(fmt::format("target {} does not verify ({}); {}", target->name,
                                               verification.problems.empty() ? "" : verification.problems.front(),
                                               what_changed(record)));
    print_error(fmt::format("target {} does not verify; {}:", target->name, what_changed(record)));
    for (const auto& problem : verification.problems) std::fprintf(stderr, "  - %s\n", redact(problem).c_str());
    return to_int(ExitCode::PreflightFailed);
  }
  run.scope = std::move(*scope);
  record.target_name = target->name;
  record.target_path = target->path;
  run.target = *target;
  return 0;
}

bool confirm_on_terminal(const plan::Plan& plan, const PreparedRun& run) {
  std::fprintf(stderr, "\nPlan '%s' will change the system. Destructive steps: %s\n", plan.name.c_str(),
               destructive_step_ids(plan).c_str());
  if (run.target) std::fprintf(stderr, "Target: %s (%s)\n", run.target->name.c_str(), run.target->path.c_str());
  std::fprintf(stderr, "Type 'yes' to continue: ");
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "yes" || (run.target && answer == run.target->name);
}

fs::path report_reserve(const fs::path& run_dir) { return run_dir / ".report-reserve"; }
std::uint64_t report_reserve_bytes(size_t steps) { return (256u << 10) + steps * (48u << 10); }

std::optional<engine::RunLock> take_run_lock(const GlobalOptions& global,
                                            const engine::RunRecord& record, bool preemptible) {
  auto dir = state_dir(global);
  (void)make_private_dirs(dir);  // owner-only: it will hold journals and reports
  engine::LockHolder me{record.run_id, static_cast<long>(::getpid()), record.operator_name,
                        format_iso_utc(std::chrono::system_clock::now()), record.plan_name};
  me.preemptible = preemptible;
  auto ask_to_stop = [&](const engine::LockHolder& rehearsal) {
    std::fprintf(stderr, "a rehearsal holds the lock: %s; this run preempts it (it stops and removes its copies "
                 "first)\n", rehearsal.describe().c_str());
    // Read by the rehearsal for its report: who cancelled it.
    if (!rehearsal.run_id.empty() && rehearsal.run_id.find('/') == std::string::npos)
      (void)write_file_atomic(dir / "runs" / rehearsal.run_id / "preempted",
                              fmt::format("{} (plan {}, operator {})\n", record.run_id, record.plan_name,
                                          record.operator_name));
    if (rehearsal.pid > 1) ::kill(static_cast<pid_t>(rehearsal.pid), SIGTERM);
  };
  auto taken = engine::RunLock::acquire_preempting(dir / "lock", me, kPreemptPatience, ask_to_stop);
  if (!taken) {
    print_error(fmt::format("another run holds the lock: {}. Nothing ran.", taken.error().describe()));
    return std::nullopt;
  }
  return std::move(*taken);
}

report::ConsoleOptions console_options(const GlobalOptions& global) {
  report::ConsoleOptions options;
  options.quiet = global.quiet;
  options.verbose = global.verbose > 0;
  options.color = report::use_color(global.json ? 2 : 1);
  return options;
}

namespace {

fs::path report_path_of(const fs::path& run_dir, const RunArgs& args);

Result<fs::path> write_run_report(engine::RunRecord& record, const fs::path& run_dir, const RunArgs& args) {
  // The space held for the report since the run started is what it is written into.
  std::error_code ec;
  fs::remove(report_reserve(run_dir), ec);
  fs::path md = report_path_of(run_dir, args);
  auto written = report::write_report(record, md);
  if (!written) return std::unexpected(Error{fmt::format("{} (report {})", written.error().message, md.string())});
  return *written;
}

// A run whose record could not be kept must not look like a clean success: the journal is
// what `history` and `resume` read, the report what the incident review reads.
void account_for_record(engine::RunRecord& record, const engine::Journal* journal) {
  if (!journal || journal->lost().empty()) return;
  std::string missing = fmt::format("its journal {} is missing {} event(s) ({})", journal->file().string(),
                                    journal->lost_events(), journal->lost());
  print_error("the run's record is incomplete: " + missing);
  record.result_message += "; but " + missing;
  if (record.result == ExitCode::Success) record.result = ExitCode::StepFailed;
}

// --json: the run's summary, the last of its JSON Lines (the step events went before it).
void print_json_result(const engine::RunRecord& record, const std::optional<fs::path>& report_path,
                       const nlohmann::json& args_extra) {
  nlohmann::json out = {{"event", "run_finished"}};
  out.update(report::render_json(record));
  out["exit_code"] = to_int(record.result);
  out["report_path"] = report_path ? nlohmann::json(report_path->string()) : nlohmann::json();
  if (!args_extra.is_null()) out.update(args_extra);
  emit_json_line(out);
}

fs::path report_path_of(const fs::path& run_dir, const RunArgs& args) {
  return args.report.empty() ? run_dir / "report.md" : fs::path(args.report);
}

// The outcome as ${run.*} for the notify lists, which run once the result is known.
plan::Scope outcome_scope(plan::Scope scope, const engine::RunRecord& record, const std::string& report) {
  std::string plans = record.plan_name;
  for (const auto& first : record.fell_back_from) plans = first.plan_name + " -> " + plans;
  scope.set_builtin("run.exit_code", std::to_string(to_int(record.result)));
  scope.set_builtin("run.result", std::string(report::result_word(record.result)));
  scope.set_builtin("run.plans", plans);
  scope.set_builtin("run.target", record.target_name);
  scope.set_builtin("run.report", report);
  scope.set_builtin("run.summary", redact(fmt::format("rollback {} on {}: {} (exit {}): {}{}", plans, record.host,
                                                      report::result_word(record.result), to_int(record.result),
                                                      record.result_message,
                                                      report.empty() ? "" : "; report: " + report)));
  return scope;
}

void send_notify_lists(PreparedRun& run, engine::Journal* journal, const std::string& report) {
  if (run.record.dry_run || run.record.rehearsal) return;
  proc::SystemRunner runner;
  std::set<std::string> sent_once;  // a pair of plans sharing one webhook tells it once
  for (const auto& list : run.notify) {
    if (list.calls.empty()) continue;
    auto scope = outcome_scope(list.scope.value_or(run.scope), run.record, report);
    size_t before = run.record.notifications.size();
    for (auto& sent : engine::send_notifications(actions::builtin_registry(), runner, list.calls, scope,
                                                 kNotifyTimeout, sent_once)) {
      sent.id = fmt::format("notify-{}", ++before);
      run.record.notifications.push_back(std::move(sent));
      if (journal) {
        auto event = engine::step_to_json(run.record.notifications.back());
        event["event"] = "notified";
        event["step"] = run.record.notifications.back().id;
        (void)journal->append(std::move(event));
      }
    }
  }
}

int conclude(PreparedRun& run, engine::Journal* journal, const RunArgs& args, const GlobalOptions& global,
             report::ConsoleProgress& console) {
  auto& record = run.record;
  const auto& run_dir = run.run_dir;
  account_for_record(record, journal);
  send_notify_lists(run, journal, record.dry_run && args.report.empty() ? "" : report_path_of(run_dir, args).string());
  for (const auto& sent : record.notifications) console.note(fmt::format("{}: {}", sent.action, sent.message));
  std::optional<fs::path> report_path;
  if (!record.dry_run || !args.report.empty()) {
    auto written = write_run_report(record, run_dir, args);
    if (written) {
      report_path = *written;
    } else {
      print_error(fmt::format("cannot write the report: {}; the journal {} holds the run's record", written.error().message,
                              journal ? journal->file().string() : "(none)"));
      if (record.result == ExitCode::Success) record.result = ExitCode::StepFailed;
    }
  }
  if (journal && report_path)
    (void)journal->append({{"event", "report_written"}, {"path", report_path->string()}});
  console.summary(record);
  if (global.json) print_json_result(record, report_path, args.json_extra);
  else if (report_path) console.report_path(*report_path);
  return to_int(record.result);
}

}  // namespace

int conclude_run(PreparedRun& run, engine::Journal* journal, const RunArgs& args, const GlobalOptions& global,
                 report::ConsoleProgress& console) {
  return conclude(run, journal, args, global, console);
}

int finish_run(PreparedRun& run, engine::Journal* journal, ExitCode code, const RunArgs& args,
               const GlobalOptions& global, report::ConsoleProgress& console) {
  run.record.result = code;
  return conclude(run, journal, args, global, console);
}

void notify_unstarted(PreparedRun& run) {
  send_notify_lists(run, nullptr, "");
  for (const auto& sent : run.record.notifications)
    std::fprintf(stderr, "%s: %s\n", sent.action.c_str(), sent.message.c_str());
}

int finish_unexecuted(PreparedRun& run, engine::Journal* journal, ExitCode code,
                      const std::string& message, const RunArgs& args,
                      const GlobalOptions& global, report::ConsoleProgress& console, bool resumed) {
  record_unexecuted(run, journal, code, message, resumed);
  return conclude(run, journal, args, global, console);
}

void record_unexecuted(PreparedRun& run, engine::Journal* journal, ExitCode code, const std::string& message,
                       bool resumed) {
  auto& record = run.record;
  record.result = code;
  record.result_message = redact(message);
  record.ended = std::chrono::system_clock::now();
  for (const auto& [k, v] : run.scope.vars()) record.vars[k] = redact(v);
  if (record.to_version.empty()) record.to_version = record.target_name;
  if (journal) {
    auto started = engine::run_started_event(record);
    if (resumed) started["resumed"] = true;  // the earlier attempts' record stays whole
    (void)journal->append(std::move(started));
    (void)journal->append(engine::run_finished_event(record));
  }
}

}  // namespace rollback::cli
