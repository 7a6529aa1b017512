// `rollback watch PLAN [--for 2h] [--interval 30s]`: the post-rollback monitoring window
// of the runbooks, done by the tool: run the plan's `monitor` samplers every interval,
// print a line per interval, and append a monitoring section (min/median/p95/max,
// breaches with times) to the plan's latest run report. Exits 5 when a threshold was
// breached for longer than its allowance (post-rollback verification failed), else 0.
//
// Every sampler is an ordinary read-only action (http.probe, docker.stats, fs.disk_free)
// run through engine::run_probe, as `check` runs its criteria; what they measure comes
// back as Outcome::measurements, which the engine's Monitor aggregates.
#include <cstdio>
#include <fmt/format.h>
#include <thread>

#include <rollback/cli/commands.hpp>
#include <rollback/engine/run.hpp>
#include <rollback/engine/state_store.hpp>
#include <rollback/engine/monitor_stats.hpp>
#include <rollback/engine/probe.hpp>
#include <rollback/engine/signals.hpp>
#include <rollback/report/monitoring.hpp>
#include <rollback/report/report.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;

namespace {

struct WatchArgs {
  RunArgs run;
  std::string for_text, interval_text, run_id;
};

struct Sampler {
  const plan::Plan& plan;
  const plan::Scope& scope;
  proc::Runner& runner;
  engine::Monitor monitor;

  // One round of every sampler; returns the live line.
  std::string sample(SystemTime now, Millis timeout) {
    std::string line = format_utc(now, "%H:%M:%S");
    for (const auto& probe : plan.monitor.probes) {
      auto result = engine::run_probe(actions::builtin_registry(), runner, probe, scope, timeout);
      for (const auto& m : result.outcome.measurements) monitor.add(m.metric, m.subject, now, m.value);
      line += fmt::format("  {}: {}", probe.action, result.outcome.ok ? result.observed : "FAILED " + result.observed);
    }
    return redact(line);
  }
};

// The newest run of this plan (or the one named) whose report can take the section.
std::optional<fs::path> report_of(const GlobalOptions& global, const std::string& plan_name,
                                  const std::string& run_id) {
  engine::StateStore store(state_dir(global));
  if (!run_id.empty()) {
    auto one = store.run(run_id);
    return one ? store.report_of(*one) : std::nullopt;
  }
  auto latest = store.latest_of(plan_name);
  if (!latest || !*latest) return std::nullopt;
  return store.report_of(**latest);
}

std::optional<Millis> pick(const std::string& flag, const std::optional<Millis>& from_plan, Millis fallback) {
  if (!flag.empty()) return parse_duration(flag);
  return from_plan.value_or(fallback);
}

int watch(const GlobalOptions& global, const WatchArgs& a) {
  if (!vars_file_trusted(a.run.vars_file, global)) return to_int(ExitCode::Usage);
  auto loaded = load_plan_or_report(a.run.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  const plan::Plan& plan = *loaded;
  if (!plan.monitor.present) {
    print_error(fmt::format("plan '{}' has no `monitor:` section to watch", plan.name));
    return to_int(ExitCode::Usage);
  }
  auto window = pick(a.for_text, plan.monitor.duration, Millis(2 * 3600 * 1000));
  auto interval = pick(a.interval_text, plan.monitor.interval, Millis(30'000));
  if (!window || !interval || interval->count() <= 0) {
    print_error("--for / --interval: expected durations such as 2h and 30s");
    return to_int(ExitCode::Usage);
  }
  plan::Scope scope;
  if (auto bound = engine::bind_request(plan, a.run, scope); !bound) {
    print_error(bound.error().message + ". Nothing ran.");
    return to_int(ExitCode::Usage);
  }

  engine::SignalGuard signals;
  Sampler sampler{plan, scope, system_runner(), engine::Monitor{}};
  auto start = std::chrono::steady_clock::now();
  auto started_at = std::chrono::system_clock::now();
  // Under --json the live lines are logs (stderr); stdout gets the one summary document.
  FILE* live = global.json ? stderr : stdout;
  std::fprintf(live, "watching %s for %s, every %s\n", plan.name.c_str(), format_duration(*window).c_str(),
               format_duration(*interval).c_str());
  // A sampler may need longer than a short interval (`docker stats` measures CPU over about
  // a second): rounds then follow each other without a pause instead of timing out.
  Millis probe_timeout = std::clamp(*interval, Millis(10'000), Millis(30'000));
  for (auto next = start; std::chrono::steady_clock::now() - start < *window && !proc::cancel_requested();) {
    std::fprintf(live, "%s\n", redact(sampler.sample(std::chrono::system_clock::now(), probe_timeout)).c_str());
    std::fflush(live);
    next += *interval;
    while (std::chrono::steady_clock::now() < next && !proc::cancel_requested() &&
           std::chrono::steady_clock::now() - start < *window)
      std::this_thread::sleep_for(Millis(50));
  }

  report::WatchSummary summary{
      .started = started_at,
      .watched = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start),
      .interval = *interval,
      .monitor = &sampler.monitor,
      .thresholds = plan.monitor.thresholds,
      .breaches = sampler.monitor.evaluate(plan.monitor.thresholds)};
  auto section = report::render_monitoring_markdown(summary, plan.report.lang);
  auto as_json = report::render_monitoring_json(summary);
  std::fprintf(live, "\n%s", redact(section).c_str());
  std::optional<fs::path> appended_to;
  if (auto report = report_of(global, plan.name, a.run_id)) {
    if (auto appended = report::append_section(*report, section, "monitoring", as_json); appended) appended_to = *report;
    else print_error("cannot append to " + report->string() + ": " + appended.error().message);
  }
  int code = proc::cancel_requested() ? to_int(ExitCode::Interrupted)
             : summary.breaches.empty() ? to_int(ExitCode::Success)
                                        : to_int(ExitCode::VerifyFailed);
  if (global.json) {
    as_json["exit_code"] = code;
    as_json["report_path"] = appended_to ? nlohmann::json(appended_to->string()) : nlohmann::json();
    emit_json(as_json);
  } else if (appended_to) {
    std::printf("report: %s\n", appended_to->c_str());
  }
  return code;
}

}  // namespace

void add_watch_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("watch", "Post-rollback monitoring of a plan's `monitor` thresholds");
  auto args = std::make_shared<WatchArgs>();
  sub->add_option("plan", args->run.plan, "Plan name or path")->required();
  sub->add_option("--for", args->for_text, "How long to watch (default: monitor.duration, else 2h)");
  sub->add_option("--interval", args->interval_text, "Time between probes (default: monitor.interval, else 30s)");
  sub->add_option("--run", args->run_id, "The run whose report gets the section (default: the plan's latest)");
  sub->add_option("--var", args->run.vars, "Override a plan var: KEY=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--vars", args->run.vars_file, "Override plan vars from a YAML map file");
  sub->final_callback([&global, &selected, args] {
    selected = [&global, args] { return watch(global, *args); };
  });
}

}  // namespace rollback::cli
