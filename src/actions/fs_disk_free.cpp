// fs.disk_free: free space of the filesystem holding a path, in percent (as df shows it),
// optionally held to `expect` ("> 20%"). Read-only; `watch` samples `monitor.disk` through
// it, and a criterion may use it ("disk almost full" is also a cause of incidents).
#include <fmt/format.h>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/rehearsal.hpp>
#include <rollback/util/disk.hpp>

namespace rollback::actions {
namespace {

Outcome run_disk_free(ActionContext&, const Params& p) {
  auto path = p.str("path");
  auto free = disk_free_percent(path);
  if (!free) return Outcome::failure(free.error().message);
  auto outcome = Outcome::success(fmt::format("{}: {:.1f}% free", path, *free));
  outcome.measurements.push_back({plan::Metric::DiskFreePercent, path, *free});
  outcome.data["free_percent"] = *free;
  if (!p.has("expect")) {
    outcome.observations.push_back({path, fmt::format("{:.1f}% free", *free), true});
    return outcome;
  }
  auto expect = plan::parse_threshold(plan::Metric::DiskFreePercent, p.str("expect"), Millis(0));
  if (!expect) return Outcome::failure(fmt::format("expect: \"{}\" is not \"> N%\" or \"< N%\"", p.str("expect")));
  bool within = expect->op == plan::Op::Above ? *free > expect->limit : *free < expect->limit;
  outcome.observations.push_back({path, fmt::format("{:.1f}% free", *free), within});
  if (within) return outcome;
  outcome.ok = false;
  outcome.message = fmt::format("{}: {:.1f}% free, expected {}", path, *free, p.str("expect"));
  return outcome;
}

void validate_disk_free(ParamCheck& check) {
  auto expect = check.literal("expect");
  if (expect && !plan::parse_threshold(plan::Metric::DiskFreePercent, *expect, Millis(0)))
    check.error("expect", fmt::format("expect: \"{}\" is not a comparison such as \"> 20%\"", *expect));
}

}  // namespace

void register_disk_free_action(Registry& registry) {
  registry.add(Action{
      .name = "fs.disk_free",
      .summary = "free space of the filesystem holding a path, in percent; fails unless `expect` holds",
      .params = {param("path").required().names(plan::Names::Path).doc("a path on the filesystem to measure"),
                 param("expect").doc("a comparison the free percentage must meet, such as > 20% or < 90%")},
      .read_only = true,
      .validate = validate_disk_free,
      .describe = [](const Params& p) { return fmt::format("df {}", p.str("path")); },
      .run = run_disk_free,
      .rehearse = rehearse_as_is,
  });
}

}  // namespace rollback::actions
