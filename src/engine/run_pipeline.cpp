// The one run pipeline (src/engine/run_session.hpp): a plan whose vars are bound and whose
// target is resolved goes through lock, cleanup of leftovers, preflight, confirmation,
// execution with the journal, and the end of the run, in one place.
#include "run_session.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <rollback/engine/cleanup.hpp>
#include <rollback/engine/signals.hpp>
#include <rollback/engine/state_store.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/proc/runner.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/process.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine {

std::optional<RunLock> take_run_lock(const RunDeps& deps, LockHolder me) {
  (void)make_private_dirs(deps.state_dir);  // owner-only: it will hold journals and reports
  me.pid = static_cast<long>(::getpid());
  me.started = format_iso_utc(std::chrono::system_clock::now());
  auto ask_to_stop = [&](const LockHolder& rehearsal) {
    deps.observer.warn(fmt::format("a rehearsal holds the lock: {}; this run preempts it (it stops and removes its "
                                   "copies first)",
                                   rehearsal.describe()));
    // Read by the rehearsal for its report: who cancelled it. Only into a run folder that
    // is really there: the run id comes from the lock file's text.
    StateStore store(deps.state_dir);
    auto note = store.run_dir(rehearsal.run_id) / "preempted";
    bool noted = plan::is_plan_name(rehearsal.run_id) && store.check_run_dir(rehearsal.run_id) &&
                 std::filesystem::is_directory(store.run_dir(rehearsal.run_id)) &&
                 write_file_atomic(note, fmt::format("{} (plan {}, operator {})\n", me.run_id, me.plan,
                                                     me.operator_name))
                     .has_value();
    // The PID is the one the kernel reports holding this lock's flock (RunLock::holder),
    // never what the lock file says; and it is signalled only when it is a rollback of the
    // same user (a forged lock record cannot aim SIGTERM at another process).
    auto sent = signal_same_program(rehearsal.pid, SIGTERM);
    if (!sent) {
      deps.observer.warn(fmt::format("not preempting it: {}", sent.error().message));
      std::error_code ec;
      if (noted) std::filesystem::remove(note, ec);
    }
    return sent.has_value();
  };
  auto taken = RunLock::acquire_preempting(deps.state_dir / "lock", me, kPreemptPatience, ask_to_stop);
  if (!taken) {
    deps.observer.error(fmt::format("another run holds the lock: {}. Nothing ran.", taken.error().describe()));
    return std::nullopt;
  }
  return std::move(*taken);
}

}  // namespace rollback::engine

namespace rollback::engine::detail {
namespace {
namespace fs = std::filesystem;

std::string destructive_left(const PipelineRequest& r) {
  std::string ids;
  for (const auto& step : r.plan.steps)
    if (step.destructive && !r.completed_steps.contains(step.id)) ids += (ids.empty() ? "" : ", ") + step.id;
  return ids;
}

// Everything the pipeline holds for one run, so the stages below read as a list.
struct Stage {
  const RunDeps& deps;
  PipelineRequest& r;
  Journal* journal;

  int stop_before_execution(ExitCode code, const std::string& message) {
    if (r.rehearsal && code == ExitCode::Interrupted) {
      // A rehearsal's verdict says who preempted it, and removes whatever it made.
      record_unexecuted(r.run, nullptr, code, message);
      if (journal) (void)journal->append(run_started_event(r.run.record));
      conclude_rehearsal(deps, r, journal, code);
      return conclude_run(deps, r.run, journal, r.args);
    }
    record_unexecuted(r.run, journal, code, message, r.resuming);
    if (hands_over()) return to_int(code);
    return conclude_run(deps, r.run, journal, r.args);
  }

  // The result is recorded: does the plan's fallback take over from here?
  bool hands_over() {
    if (!r.hand_over || r.args.dry_run) return false;
    r.hand_over_reason = r.hand_over(r.run.record);
    r.handed_over = !r.hand_over_reason.empty();
    return r.handed_over;
  }

  void clean_up(const std::string& run_id) {
    CleanupRequest request{.state_dir = deps.state_dir.string(), .run_id = run_id};
    for (const auto& step : r.plan.steps) request.sweep.insert(step.action);
    // What a rehearsal made (containers, volumes, a scratch database, copies): a rehearsal
    // killed before it removed them leaves them to the next run of this state dir.
    if (run_id.empty())
      request.cleaners["rehearsal"] = [this](actions::CleanupContext& ctx) {
        actions::clean_up_rehearsals_with(deps.registry, ctx);
      };
    request.log = [this](std::string_view line) { deps.observer.log_line("cleanup", line); };
    engine::clean_up(deps.registry, deps.runner, request);
  }
};

// The run dir (owner-only), the journal's reserve and the report's: taken before the first
// step, so a disk that fills during the run cannot silently cost it its audit trail.
Status keep_record(const fs::path& run_dir, Journal& journal, size_t steps) {
  RB_TRY(make_private_dirs(run_dir));
  RB_TRY(journal.reserve(steps));
  return reserve_space(report_reserve(run_dir), report_reserve_bytes(steps), /*beyond_end=*/false);
}

}  // namespace

int run_pipeline(const RunDeps& deps, PipelineRequest& r) {
  const bool dry = r.args.dry_run;
  auto& out = deps.observer;
  if (r.run.notify.empty()) r.run.notify.push_back({r.plan.notify, std::nullopt});
  std::string destructive = destructive_left(r);
  const bool rehearsing = r.rehearsal != nullptr;  // changes nothing in production: no --yes
  bool needs_confirmation = !dry && !rehearsing && !r.args.yes && !destructive.empty();
  if (needs_confirmation && !out.interactive()) {
    out.error(fmt::format("plan '{}' has destructive steps {}({}) and stdin is not a terminal; pass --yes to run "
                          "them unattended. Nothing ran.",
                          r.plan.name, r.resuming ? "left " : "", destructive));
    return to_int(ExitCode::Usage);
  }

  // A rehearsal may be preempted from the moment it holds the lock: the SIGTERM that asks
  // it to stop must find the handlers in place, and the note naming who sent it a run dir.
  std::optional<SignalGuard> signals;
  bool early_dir = rehearsing && !dry && !r.args.lock_held;
  if (early_dir) {
    signals.emplace();
    if (!StateStore(deps.state_dir).check_run_dir(r.run.run_dir.filename().string()) ||
        !make_private_dirs(r.run.run_dir))
      early_dir = false;  // refused or reported below, holding the lock
  }
  // A dry run changes nothing, so it takes no lock and writes no state.
  RunLock lock;
  if (!dry && !r.args.lock_held) {
    const auto& rec = r.run.record;
    LockHolder me{.run_id = rec.run_id, .operator_name = rec.operator_name, .plan = rec.plan_name};
    me.preemptible = rehearsing;
    auto taken = take_run_lock(deps, me);
    if (!taken) {
      std::error_code ec;
      if (early_dir)
        std::filesystem::remove(r.run.run_dir, ec);  // still empty: no run of ours to list
      return to_int(ExitCode::Locked);
    }
    lock = std::move(*taken);
  }
  if (!signals) signals.emplace();
  Executor executor(deps.registry, deps.runner);
  std::optional<Journal> journal;
  if (!dry) journal.emplace(r.run.run_dir / "journal.jsonl");
  Stage stage{deps, r, journal ? &*journal : nullptr};

  if (!dry) {
    if (auto layout = StateStore(deps.state_dir).check_run_dir(r.run.run_dir.filename().string()); !layout) {
      out.error(fmt::format("refusing the state dir {}: {}. Nothing ran.", deps.state_dir.string(),
                            layout.error().message));
      return to_int(ExitCode::Usage);
    }
    if (auto kept = keep_record(r.run.run_dir, *journal, r.plan.steps.size()); !kept) {
      out.error(fmt::format("cannot keep this run's record in {}: {}. A rollback needs its journal (to resume it) "
                            "and its report; free space there, or point --state-dir (or $ROLLBACK_STATE) at a "
                            "filesystem with room: a tmpfs such as /dev/shm will do. Nothing ran.",
                            deps.state_dir.string(), kept.error().message));
      return to_int(ExitCode::PreflightFailed);
    }
    // Holding the lock, no other run of this state dir is alive: whatever a run left (a
    // helper container, a paused container) belongs to a run that was killed.
    stage.clean_up("");
  }

  if (auto bound = bind_made_target(deps, r); !bound) {
    out.error(bound.error().message + ". Nothing ran.");
    return stage.stop_before_execution(ExitCode::PreflightFailed, bound.error().message + "; nothing was changed");
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
  // Stopped meanwhile (Ctrl-C, or a real run preempting a rehearsal): whatever preflight
  // saw fail was most likely its own checks cut short, not the target.
  if (proc::cancel_requested())
    return stage.stop_before_execution(
        ExitCode::Interrupted,
        fmt::format("interrupted before the first step (during {}preflight); nothing was changed",
                    r.resuming ? "the resume's " : ""));
  if (!failures.empty()) {
    auto changed = what_changed(r.run.record);
    out.error(fmt::format("preflight failed; {}:", changed));
    for (const auto& failure : failures) out.warn("  - " + failure);
    return stage.stop_before_execution(
        ExitCode::PreflightFailed, fmt::format("{}preflight failed ({} problem(s)): {}; {}", r.resuming ? "resume: " : "",
                                               failures.size(), failures.front(), changed));
  }
  if (needs_confirmation && !out.confirm(r.plan, r.run.target, destructive))
    return stage.stop_before_execution(ExitCode::Usage, "not confirmed at the terminal; nothing was changed");

  if (r.resuming)
    out.note(fmt::format("resuming run {}: {} step(s) already done", r.run.record.run_id, r.completed_steps.size()));
  ExecuteOptions options;
  out.progress(options);
  options.dry_run = dry;
  options.completed_steps = r.completed_steps;
  options.resumed = r.resuming;
  options.run_id = r.run.record.run_id;
  options.state_dir = deps.state_dir.string();
  if (rehearsing) {
    r.rehearsal->for_real = true;
    options.rehearsal = r.rehearsal;
  }
  auto code = executor.execute(r.plan, r.run.scope, r.run.record, stage.journal, options);
  if (rehearsing) code = conclude_rehearsal(deps, r, stage.journal, code);
  if (!dry) stage.clean_up(r.run.record.run_id);
  if (!dry && code == ExitCode::Success) code = commit_made_target(deps, r, stage.journal, code);
  // A backup that succeeded makes room for the next ones (target: keep). Still under the
  // lock, so no run of this state dir starts using a target while it is removed.
  if (!dry && code == ExitCode::Success) code = push_offsite(deps, r, stage.journal, code);
  if (!dry && code == ExitCode::Success) {
    if (auto said = prune_after_backup(deps, r.plan, r.run, stage.journal); !said.empty()) out.note(said);
    if (auto said = prune_offsite(deps, r.plan, r.run, stage.journal); !said.empty()) out.note(said);
  }
  r.run.record.result = code;
  if (stage.hands_over()) return to_int(code);
  return conclude_run(deps, r.run, stage.journal, r.args);
}

}  // namespace rollback::engine::detail
