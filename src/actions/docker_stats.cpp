// docker.stats (include/rollback/actions/docker_stats.hpp): the containers a name filter or
// compose project selects, then one `docker stats --no-stream` over them.
#include <rollback/actions/docker_stats.hpp>

#include <fmt/format.h>

#include <rollback/actions/docker_common.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker {
namespace {

Outcome run_stats(ActionContext& ctx, const Params& p) {
  auto ids = list_containers(ctx, p, false);
  if (!ids) return to_outcome(ids.error());
  if (ids->empty()) return Outcome::failure(fmt::format("no running container matches {}", selection(p)));
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"stats", "--no-stream", "--format", "{{json .}}", "--"});
  argv.insert(argv.end(), ids->begin(), ids->end());
  auto done = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!done) return to_outcome(done.error());
  auto parsed = parse_docker_stats(done->out);
  auto outcome = Outcome::success(fmt::format("{} container(s) sampled", parsed.containers.size()));
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& c : parsed.containers) {
    outcome.measurements.push_back({plan::Metric::MemoryPercent, c.name, c.memory_percent});
    outcome.measurements.push_back({plan::Metric::CpuPercent, c.name, c.cpu_percent});
    outcome.observations.push_back({c.name, fmt::format("mem {:.1f}% cpu {:.1f}%", c.memory_percent, c.cpu_percent)});
    containers.push_back({{"name", c.name}, {"memory_percent", c.memory_percent}, {"cpu_percent", c.cpu_percent}});
  }
  outcome.data["containers"] = std::move(containers);
  if (!parsed.problems.empty()) {
    outcome.data["problems"] = parsed.problems;
    outcome.message += "; unreadable: " + parsed.problems.front();
  }
  return outcome;
}

}  // namespace

Result<ContainerStats> parse_docker_stats_line(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(fmt::format("docker stats: expected a JSON object, saw \"{}\"", std::string(line.substr(0, 80))));
  auto text = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ContainerStats out;
  out.name = text("Name");
  if (out.name.empty()) out.name = text("Container");
  if (out.name.empty()) return fail("docker stats: a line without Name or Container");
  auto mem = parse_percent(text("MemPerc")), cpu = parse_percent(text("CPUPerc"));
  if (!mem || !cpu)
    return fail(fmt::format("docker stats: {}: expected MemPerc and CPUPerc like \"12.34%\", saw \"{}\" and \"{}\"",
                            out.name, text("MemPerc"), text("CPUPerc")));
  out.memory_percent = *mem;
  out.cpu_percent = *cpu;
  return out;
}

DockerStats parse_docker_stats(std::string_view output) {
  DockerStats out;
  size_t line_no = 0;
  while (!output.empty()) {
    auto eol = output.find('\n');
    auto line = trim(output.substr(0, eol));
    output.remove_prefix(eol == std::string_view::npos ? output.size() : eol + 1);
    ++line_no;
    if (line.empty()) continue;
    auto parsed = parse_docker_stats_line(line);
    if (parsed) out.containers.push_back(std::move(*parsed));
    else out.problems.push_back(fmt::format("line {}: {}", line_no, parsed.error().message));
  }
  return out;
}

void register_stats_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.stats",
      .summary = "memory and CPU of the running containers a name filter or compose project selects",
      .params = with_engine({param("filter", ParamType::StringList).names(plan::Names::Identifier)
                     .doc(kFilterDoc),
                 param("project").names(plan::Names::Identifier)
                     .doc("sample the running containers of this compose project (by its label)")}),
      .read_only = true,
      .validate = validate_selection,
      .describe = [](const Params& p) { return "docker stats --no-stream (" + selection(p) + ")"; },
      .run = run_stats,
      .app_logs = app_logs,
  });
}

}  // namespace rollback::actions::docker
