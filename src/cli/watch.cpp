// `rollback watch PLAN [--for 2h] [--interval 30s]`: the post-rollback monitoring window
// of the runbooks, done by the tool: probe the plan's `monitor` every interval, print a line
// per interval, and append a monitoring section (min/median/p95/max, breaches with times)
// to the plan's latest run report. Exits 5 when a threshold was breached for longer than
// its allowance (post-rollback verification failed), else 0.
#include <cstdio>
#include <fmt/format.h>
#include <thread>

#include <rollback/cli/commands.hpp>
#include <rollback/cli/run_support.hpp>
#include <rollback/engine/journal.hpp>
#include <rollback/engine/monitor_stats.hpp>
#include <rollback/engine/probe.hpp>
#include <rollback/engine/signals.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace fs = std::filesystem;
using engine::Metric;

namespace {

struct WatchArgs {
  RunArgs run;
  std::string for_text, interval_text, run_id;
};

struct Sampler {
  const plan::Plan& plan;
  const plan::Scope& scope;
  proc::SystemRunner runner;
  engine::Monitor monitor;

  // One round of probes; returns the live line.
  std::string sample(engine::SystemTime now, Millis timeout) {
    std::string line = fmt::format("{}", format_iso_utc(now).substr(11, 8));
    const YAML::Node& m = plan.monitor;
    if (m["http"]) {
      auto probe = engine::run_probe(actions::builtin_registry(), runner, "http.probe", m["http"], scope, timeout);
      double latency = timeout.count();
      if (const auto& req = probe.outcome.data["requests"]; req.is_array() && !req.empty())
        latency = req[0].value("latency_ms", latency);
      monitor.add(Metric::LatencyMs, "http", now, latency);
      monitor.add(Metric::Error, "http", now, probe.outcome.ok ? 0.0 : 1.0);
      line += fmt::format("  http {} {:.0f}ms", probe.outcome.ok ? "ok" : "ERROR", latency);
    }
    if (m["containers"] && m["containers"]["filter"]) {
      auto filter = plan::interpolate(m["containers"]["filter"].Scalar(), scope);
      auto stats = container_stats(filter.value_or(""), timeout);
      for (const auto& c : stats.containers) {
        monitor.add(Metric::MemoryPercent, c.name, now, c.memory_percent);
        monitor.add(Metric::CpuPercent, c.name, now, c.cpu_percent);
        line += fmt::format("  {} mem {:.1f}% cpu {:.1f}%", c.name, c.memory_percent, c.cpu_percent);
      }
      for (const auto& p : stats.problems) line += "  (" + p + ")";
    }
    if (m["disk"] && m["disk"].IsSequence()) {
      for (const auto& path_node : m["disk"]) {
        auto path = plan::interpolate(path_node.Scalar(), scope).value_or(path_node.Scalar());
        if (auto free = engine::disk_free_percent(path)) {
          monitor.add(Metric::DiskFreePercent, path, now, *free);
          line += fmt::format("  {} free {:.0f}%", path, *free);
        }
      }
    }
    return redact(line);
  }

  engine::DockerStats container_stats(const std::string& filter, Millis timeout) {
    proc::Command ps{.argv = {"docker", "ps", "-q", "--filter", "name=" + filter}, .timeout = timeout};
    auto ids = runner.run(ps);
    if (!ids || !ids->succeeded()) return {{}, {"docker ps failed"}};
    std::vector<std::string> argv = {"docker", "stats", "--no-stream", "--format", "{{json .}}"};
    size_t before = argv.size();
    for (size_t pos = 0; pos < ids->out.size();) {
      auto nl = ids->out.find('\n', pos);
      auto id = ids->out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (!id.empty()) argv.push_back(id);
      pos = nl == std::string::npos ? ids->out.size() : nl + 1;
    }
    if (argv.size() == before) return {{}, {"no running container matches " + filter}};
    auto stats = runner.run(proc::Command{.argv = argv, .timeout = timeout});
    if (!stats || !stats->succeeded()) return {{}, {"docker stats failed"}};
    return engine::parse_docker_stats(stats->out);
  }
};

// The newest run of this plan (or the one named) whose report can take the section.
std::optional<fs::path> report_of(const GlobalOptions& global, const std::string& plan_name,
                                  const std::string& run_id) {
  std::optional<engine::RunRecord> best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(state_dir(global) / "runs", ec)) {
    auto r = engine::read_journal(entry.path() / "journal.jsonl");
    if (!r || (run_id.empty() ? r->plan_name != plan_name : r->run_id != run_id)) continue;
    if (!best || r->started > best->started) best = std::move(*r);
  }
  if (!best) return std::nullopt;
  if (auto it = best->extra.find("report"); it != best->extra.end() && it->is_string()) return it->get<std::string>();
  return state_dir(global) / "runs" / best->run_id / "report.md";
}

Status append_to_report(const fs::path& md, const std::string& section, const nlohmann::json& summary) {
  auto text = read_file(md);
  if (!text) return std::unexpected(text.error());
  RB_TRY(write_file_atomic(md, redact(*text + "\n" + section)));
  auto json_path = fs::path(md).replace_extension(".json");
  auto json_text = read_file(json_path);
  if (!json_text) return ok();
  auto doc = nlohmann::json::parse(*json_text, nullptr, false);
  if (doc.is_discarded()) return ok();
  doc["monitoring"] = summary;
  return write_file_atomic(json_path, redact(doc.dump(2)));
}

int watch(const GlobalOptions& global, const WatchArgs& a) {
  auto loaded = load_plan_or_report(a.run.plan, global);
  if (!loaded) return to_int(ExitCode::Usage);
  const plan::Plan& plan = *loaded;
  if (!plan.monitor.IsDefined() || !plan.monitor.IsMap()) {
    print_error(fmt::format("plan '{}' has no `monitor:` section to watch", plan.name));
    return to_int(ExitCode::Usage);
  }
  auto thresholds = engine::read_thresholds(plan.path.string(), plan.monitor);
  if (!thresholds) {
    print_error(thresholds.error().message);
    return to_int(ExitCode::Usage);
  }
  auto pick = [&](const std::string& flag, const char* key, Millis fallback) -> std::optional<Millis> {
    if (!flag.empty()) return parse_duration(flag);
    if (plan.monitor[key]) return parse_duration(plan.monitor[key].Scalar());
    return fallback;
  };
  auto window = pick(a.for_text, "duration", Millis(2 * 3600 * 1000));
  auto interval = pick(a.interval_text, "interval", Millis(30'000));
  if (!window || !interval || interval->count() <= 0) {
    print_error("--for / --interval: expected durations such as 2h and 30s");
    return to_int(ExitCode::Usage);
  }
  plan::Scope scope;
  if (int code = bind_scope(plan, a.run, scope); code != 0) return code;

  engine::SignalGuard signals;
  Sampler sampler{plan, scope, proc::SystemRunner{}, engine::Monitor{}};
  auto start = std::chrono::steady_clock::now();
  auto started_at = std::chrono::system_clock::now();
  std::printf("watching %s for %s, every %s\n", plan.name.c_str(), format_duration(*window).c_str(),
              format_duration(*interval).c_str());
  for (auto next = start; std::chrono::steady_clock::now() - start < *window && !proc::cancel_requested();) {
    std::printf("%s\n", sampler.sample(std::chrono::system_clock::now(), std::min(*interval, Millis(30'000))).c_str());
    std::fflush(stdout);
    next += *interval;
    while (std::chrono::steady_clock::now() < next && !proc::cancel_requested() &&
           std::chrono::steady_clock::now() - start < *window)
      std::this_thread::sleep_for(Millis(50));
  }

  auto found = sampler.monitor.evaluate(*thresholds);
  auto section = fmt::format("## Post-rollback monitoring\n\nWatched from {} for {}, every {}.\n\n{}",
                             format_iso_utc(started_at),
                             format_duration(std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start)),
                             format_duration(*interval), engine::watch_summary_markdown(sampler.monitor, found));
  std::printf("\n%s", redact(section).c_str());
  if (auto report = report_of(global, plan.name, a.run_id)) {
    if (auto appended = append_to_report(*report, section, engine::watch_summary_json(sampler.monitor, *thresholds, found)); appended)
      std::printf("report: %s\n", report->c_str());
    else
      print_error("cannot append to " + report->string() + ": " + appended.error().message);
  }
  if (proc::cancel_requested()) return to_int(ExitCode::Interrupted);
  return found.empty() ? to_int(ExitCode::Success) : to_int(ExitCode::VerifyFailed);
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
