// The one run pipeline (include/rollback/cli/pipeline.hpp).
#include <rollback/cli/pipeline.hpp>
#include <rollback/cli/retention.hpp>

#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>
#include <iostream>

#include <rollback/engine/cleanup.hpp>
#include <rollback/engine/executor.hpp>
#include <rollback/engine/signals.hpp>
#include <rollback/report/json_lines.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::cli {
namespace {

std::string destructive_left(const RunRequest& r) {
  std::string ids;
  for (const auto& step : r.plan.steps)
    if (step.destructive && !r.completed_steps.contains(step.id)) ids += (ids.empty() ? "" : ", ") + step.id;
  return ids;
}

// The human lines, and under --json the JSON Lines events beside them (on stdout).
engine::ExecuteOptions console_callbacks(report::ConsoleProgress& console, report::JsonLines* events) {
  engine::ExecuteOptions options;
  options.on_step_start = [&console, events](const engine::StepRecord& s, size_t i, size_t n) {
    console.step_started(s, i, n);
    if (events) events->step_started(s, i, n);
  };
  options.on_step_end = [&console, events](const engine::StepRecord& s, size_t i, size_t n) {
    console.step_finished(s, i, n);
    if (events) events->step_finished(s, i, n);
  };
  options.on_log = [&](const std::string& step, std::string_view line) { console.log_line(step, line); };
  options.on_group_start = [&](const std::vector<const engine::StepRecord*>& members, size_t first, size_t size,
                               size_t n) { console.group_started(members, first, size, n); };
  return options;
}

// Everything the pipeline holds for one run, so the stages below read as a list.
struct Stage {
  RunRequest& r;
  report::ConsoleProgress& console;
  proc::Runner& runner;
  engine::Journal* journal;

  int stop_before_execution(ExitCode code, const std::string& message) {
    record_unexecuted(r.run, journal, code, message, r.resuming);
    if (hands_over()) return to_int(code);
    return conclude_run(r.run, journal, r.args, r.global, console);
  }

  // The result is recorded: does the plan's fallback take over from here?
  bool hands_over() {
    if (!r.hand_over || r.args.dry_run) return false;
    r.hand_over_reason = r.hand_over(r.run.record);
    r.handed_over = !r.hand_over_reason.empty();
    return r.handed_over;
  }

  void clean_up(const std::string& run_id) {
    engine::CleanupRequest request{.state_dir = state_dir(r.global).string(), .run_id = run_id};
    for (const auto& step : r.plan.steps) request.sweep.insert(step.action);
    // What a rehearsal made (containers, volumes, a scratch database, copies): a rehearsal
    // killed before it removed them leaves them to the next run of this state dir.
    if (run_id.empty()) request.cleaners["rehearsal"] = actions::clean_up_rehearsals;
    request.log = [this](std::string_view line) { console.log_line("cleanup", line); };
    engine::clean_up(actions::builtin_registry(), runner, request);
  }
};

// After a rehearsal's steps: its copies go, whatever happened, then the executor's result
// becomes the rehearsal's verdict (shared/spec.md: 0 proven, 4 unusable or nothing to
// rehearse, 1/5 failed, 130 cancelled or preempted).
ExitCode conclude_rehearsal(RunRequest& r, Stage& stage, proc::Runner& runner, ExitCode code) {
  auto& rehearsal = *r.rehearsal;
  auto& record = r.run.record;
  rehearsal.remove_all(runner, [&stage](std::string_view line) { stage.console.log_line("rehearse", line); });
  if (stage.journal)
    for (const auto& resource : rehearsal.made_so_far())
      (void)stage.journal->append({{"event", "resource_released"}, {"step", "rehearse"}, {"action", "rehearsal"},
                                   {"resource", resource}, {"by", "cleanup"}});
  record.rehearsal = true;
  record.extra["rehearsal"] = rehearsal.summary();
  bool verifies = std::any_of(r.plan.steps.begin(), r.plan.steps.end(),
                              [](const plan::Step& s) { return s.phase == plan::Phase::Verify; });
  const std::string untouched = "production was not touched and every copy was removed";
  if (code == ExitCode::Success && rehearsal.restores == 0) {
    code = ExitCode::PreflightFailed;
    record.result_message = fmt::format("nothing to rehearse: no restore step of plan {} can run against throwaway "
                                        "copies (the report says why each was skipped); {}",
                                        r.plan.name, untouched);
  } else if (code == ExitCode::Success && verifies && rehearsal.verifies == 0) {
    code = ExitCode::PreflightFailed;
    record.result_message = fmt::format("nothing verified: the target was restored into copies, but none of plan "
                                        "{}'s verify steps can run against them; {}",
                                        r.plan.name, untouched);
  } else if (code == ExitCode::Success) {
    record.result_message = fmt::format("rehearsal proved target {}: {} restore step(s) ran against throwaway copies "
                                        "and {} verification step(s) passed; {}",
                                        record.target_name, rehearsal.restores, rehearsal.verifies, untouched);
  } else if (code == ExitCode::Interrupted) {
    auto by = read_file(r.run.run_dir / "preempted");
    record.result_message = by ? fmt::format("rehearsal cancelled: preempted by run {}; {}", trim(*by), untouched)
                               : fmt::format("rehearsal interrupted ({}); {}", record.result_message, untouched);
  } else {
    record.result_message = fmt::format("rehearsal of target {} failed: {}; {}", record.target_name,
                                        record.result_message, untouched);
  }
  record.result = code;
  record.result_message = redact(record.result_message);
  if (stage.journal) (void)stage.journal->append(engine::run_finished_event(record));
  return code;
}

// The run dir (owner-only), the journal's reserve and the report's: taken before the first
// step, so a disk that fills during the run cannot silently cost it its audit trail.
Status keep_record(const std::filesystem::path& run_dir, engine::Journal& journal, size_t steps) {
  RB_TRY(make_private_dirs(run_dir));
  RB_TRY(journal.reserve(steps));
  return reserve_space(report_reserve(run_dir), report_reserve_bytes(steps), /*beyond_end=*/false);
}

}  // namespace

int run_pipeline(RunRequest& r) {
  const bool dry = r.args.dry_run;
  if (r.run.notify.empty()) r.run.notify.push_back({r.plan.notify, std::nullopt});
  std::string destructive = destructive_left(r);
  const bool rehearsing = r.rehearsal != nullptr;  // changes nothing in production: no --yes
  bool needs_confirmation = !dry && !rehearsing && !r.args.yes && !destructive.empty();
  if (needs_confirmation && !::isatty(STDIN_FILENO)) {
    print_error(fmt::format("plan '{}' has destructive steps {}({}) and stdin is not a terminal; pass --yes to "
                            "run them unattended. Nothing ran.",
                            r.plan.name, r.resuming ? "left " : "", destructive));
    return to_int(ExitCode::Usage);
  }

  // A dry run changes nothing, so it takes no lock and writes no state.
  engine::RunLock lock;
  if (!dry && !r.args.lock_held) {
    auto taken = take_run_lock(r.global, r.run.record, /*preemptible=*/rehearsing);
    if (!taken) return to_int(ExitCode::Locked);
    lock = std::move(*taken);
  }

  engine::SignalGuard signals;
  proc::SystemRunner runner;
  engine::Executor executor(actions::builtin_registry(), runner);
  auto shown = console_options(r.global);
  shown.lang = r.plan.report.lang;  // the console's words in the plan's language, as its report
  report::ConsoleProgress console(r.global.json ? std::cerr : std::cout, shown);
  std::optional<engine::Journal> journal;
  if (!dry) journal.emplace(r.run.run_dir / "journal.jsonl");
  Stage stage{r, console, runner, journal ? &*journal : nullptr};

  if (!dry) {
    if (auto kept = keep_record(r.run.run_dir, *journal, r.plan.steps.size()); !kept) {
      print_error(fmt::format(
          "cannot keep this run's record in {}: {}. A rollback needs its journal (to resume it) and its report; "
          "free space there, or point --state-dir (or $ROLLBACK_STATE) at a filesystem with room: a tmpfs such as "
          "/dev/shm will do. Nothing ran.",
          state_dir(r.global).string(), kept.error().message));
      return to_int(ExitCode::PreflightFailed);
    }
    // Holding the lock, no other run of this state dir is alive: whatever a run left (a
    // helper container, a paused container) belongs to a run that was killed.
    stage.clean_up("");
  }

  if (rehearsing) {
    r.rehearsal->made = [&stage](const nlohmann::json& resource) {
      if (stage.journal)
        (void)stage.journal->append({{"event", "resource_held"}, {"step", "rehearse"}, {"action", "rehearsal"},
                                     {"resource", resource}});
    };
    executor.set_rehearsal(r.rehearsal);
  }
  auto failures = executor.preflight(r.plan, r.run.scope, r.completed_steps);
  if (!failures.empty()) {
    auto changed = what_changed(r.run.record);
    print_error(fmt::format("preflight failed; {}:", changed));
    for (const auto& failure : failures) std::fprintf(stderr, "  - %s\n", redact(failure).c_str());
    return stage.stop_before_execution(
        ExitCode::PreflightFailed, fmt::format("{}preflight failed ({} problem(s)): {}; {}", r.resuming ? "resume: " : "",
                                               failures.size(), failures.front(), changed));
  }
  if (needs_confirmation && !confirm_on_terminal(r.plan, r.run))
    return stage.stop_before_execution(ExitCode::Usage, "not confirmed at the terminal; nothing was changed");

  if (r.resuming && !r.global.quiet)
    std::fprintf(r.global.json ? stderr : stdout, "resuming run %s: %zu step(s) already done\n",
                 r.run.record.run_id.c_str(), r.completed_steps.size());
  report::JsonLines events(stdout);
  auto options = console_callbacks(console, r.global.json ? &events : nullptr);
  options.dry_run = dry;
  options.completed_steps = r.completed_steps;
  options.resumed = r.resuming;
  options.run_id = r.run.record.run_id;
  options.state_dir = state_dir(r.global).string();
  if (rehearsing) {
    r.rehearsal->for_real = true;
    options.rehearsal = r.rehearsal;
  }
  auto code = executor.execute(r.plan, r.run.scope, r.run.record, stage.journal, options);
  if (rehearsing) code = conclude_rehearsal(r, stage, runner, code);
  if (!dry) stage.clean_up(r.run.record.run_id);
  // A backup that succeeded makes room for the next ones (target: keep). Still under the
  // lock, so no run of this state dir starts using a target while it is removed.
  if (!dry && code == ExitCode::Success)
    if (auto said = prune_after_backup(r.plan, r.run, state_dir(r.global), stage.journal); !said.empty())
      console.note(said);
  r.run.record.result = code;
  if (stage.hands_over()) return to_int(code);
  return finish_run(r.run, stage.journal, code, r.args, r.global, console);
}

}  // namespace rollback::cli
