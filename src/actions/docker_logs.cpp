// The application's own logs for the report's incident log: `docker logs --since` of the
// containers that a docker step or the monitor's container probe selects (`project` and/or
// name `filter`), taken before anything is stopped. Read-only; the `app_logs`
// behaviour of the actions that select containers (set where each is defined).
#include <algorithm>
#include <fmt/format.h>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/docker_common.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/time.hpp>

namespace rollback::actions::docker {
namespace {

constexpr size_t kMaxContainers = 6;   // an app, its workers, its database: enough to read
constexpr size_t kLinesPerContainer = 30;
constexpr size_t kLinesAsked = kLinesPerContainer * 4;  // docker's --tail: what is read at most

// The last `count` lines of what `docker logs --tail <asked>` printed. Fewer lines than asked
// are all there were since `since`, so the skipped ones are counted exactly; as many as
// asked means docker cut older ones, how many is unknown (a million, say), and no number is
// given rather than a wrong one.
std::string last_lines(std::string_view text, size_t count, size_t asked) {
  auto lines = output_lines(text);
  size_t from = lines.size() > count ? lines.size() - count : 0;
  std::string out;
  if (lines.size() >= asked)
    out = "[... earlier lines skipped ...]\n";
  else if (from > 0)
    out = fmt::format("[... {} earlier line(s) skipped ...]\n", from);
  for (size_t i = from; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

}  // namespace

Outcome app_logs(ActionContext& ctx, const Params& p, std::chrono::system_clock::time_point since) {
  if (!p.has("project") && p.list("filter").empty()) return Outcome::failure("selects no containers");
  auto ids = list_containers(ctx, p, /*all=*/true);
  if (!ids) return to_outcome(ids.error());
  if (ids->empty()) return Outcome::failure(fmt::format("no container matches {}", selection(p)));
  auto states = inspect_containers(ctx, p, *ids);
  if (!states) return to_outcome(states.error());
  std::sort(states->begin(), states->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since.time_since_epoch()).count();
  std::string excerpt;
  size_t shown = 0;
  for (const auto& c : *states) {
    if (shown == kMaxContainers) break;
    auto argv = docker_argv(p);
    argv.insert(argv.end(), {"logs", "--since", std::to_string(seconds), "--timestamps", "--tail",
                             std::to_string(kLinesAsked), c.id});
    auto done = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false, .log_command = false});
    if (!done) continue;
    excerpt += fmt::format("== {} ({})\n{}", c.name, c.describe(),
                           last_lines(done->out + done->err, kLinesPerContainer, kLinesAsked));
    ++shown;
  }
  auto o = Outcome::success(fmt::format("docker logs of {} of {} container(s) of {}, since {}", shown,
                                        states->size(), selection(p), format_utc(since, kHumanUtc)));
  o.log_excerpt = redact(excerpt);
  return o;
}

}  // namespace rollback::actions::docker
