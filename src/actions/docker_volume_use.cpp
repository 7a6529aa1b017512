// Volumes in use (include/rollback/actions/docker_volume_use.hpp).
#include <rollback/actions/docker_volume_use.hpp>

#include <fmt/format.h>

#include <map>
#include <mutex>

#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker {
namespace {

std::mutex g_pause_mutex;
std::map<std::string, int> g_pause_count;  // container id -> backups of this process holding it paused

nlohmann::json resource_of(const Params& p, const std::string& id) {
  return engine_resource(p, {{"kind", "paused"}, {"container", id}});
}

// `docker unpause`, which must run even while the run is being interrupted.
void unpause(proc::Runner& runner, const std::vector<std::string>& ids, const std::pair<std::string, std::string>& engine,
             const std::function<void(std::string_view)>& log) {
  end_on_engine(runner, {"unpause"}, ids, engine, kShortCommand, "is not paused", log);
}

}  // namespace

Result<std::vector<std::string>> containers_using(ActionContext& ctx, const Params& p, const std::string& volume) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"ps", "--filter", "volume=" + volume, "--format", "{{.Names}} ({{.ID}}) {{.State}}"});
  auto done = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!done) return std::unexpected(done.error());
  return nonempty_lines(done->out);
}

Status PausedContainers::pause_users_of(const std::string& volume) {
  auto argv = docker_argv(p_);
  argv.insert(argv.end(), {"ps", "--no-trunc", "--filter", "volume=" + volume, "--filter", "status=running",
                           "--format", "{{.ID}} {{.Names}}"});
  auto found = run_checked(ctx_, p_, argv, {.cap = kShortCommand, .log_output = false});
  if (!found) return std::unexpected(found.error());
  std::vector<std::string> to_pause;
  {
    std::lock_guard lock(g_pause_mutex);
    for (const auto& line : nonempty_lines(found->out)) {
      auto space = line.find(' ');
      std::string id = line.substr(0, space), name = space == std::string::npos ? id : line.substr(space + 1);
      ids_.push_back(id);
      names_.push_back(name);
      if (g_pause_count[id]++ == 0) to_pause.push_back(id);
    }
  }
  for (const auto& id : ids_)
    if (ctx_.hold) ctx_.hold(resource_of(p_, id));
  since_ = std::chrono::steady_clock::now();
  if (to_pause.empty()) return ok();
  argv = docker_argv(p_);
  argv.insert(argv.end(), {"pause", "--"});
  argv.insert(argv.end(), to_pause.begin(), to_pause.end());
  if (auto paused = run_checked(ctx_, p_, argv, {.cap = kShortCommand}); !paused) {
    release();
    return std::unexpected(paused.error());
  }
  return ok();
}

void PausedContainers::release() {
  if (ids_.empty()) return;
  paused_for_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since_);
  std::vector<std::string> last;
  {
    std::lock_guard lock(g_pause_mutex);
    for (const auto& id : ids_)
      if (--g_pause_count[id] == 0) {
        g_pause_count.erase(id);
        last.push_back(id);
      }
  }
  unpause(ctx_.runner, last, {p_.str("context"), p_.str("host")}, ctx_.log);
  for (const auto& id : ids_)
    if (ctx_.release) ctx_.release(resource_of(p_, id));
  ids_.clear();
}

void unpause_held(CleanupContext& ctx) {
  HeldOnEngines held;
  for (const auto& r : ctx.held)
    if (r.value("kind", "") == "paused" && !r.value("container", "").empty())
      held[{r.value("context", ""), r.value("host", "")}].push_back(r.value("container", ""));
  for (const auto& [engine, ids] : held) {
    if (ctx.log) ctx.log(fmt::format("unpausing {} container(s) a run left paused", ids.size()));
    unpause(ctx.runner, ids, engine, ctx.log);
  }
}

}  // namespace rollback::actions::docker
