// Volumes in use (include/rollback/actions/docker_volume_use.hpp).
#include <rollback/actions/docker_volume_use.hpp>

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <thread>

#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/proc/guardian.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/runtime_dir.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

std::mutex g_pause_mutex;
std::map<std::string, int> g_pause_count;  // container id -> backups of this process holding it paused

// The runtime dir's record of what a run paused (util/runtime_dir.hpp): a run killed
// together with its guardian (a cgroup killed whole) leaves it to the next run.
constexpr const char* kPausedRecord = "paused";
constexpr const char* kPausedFile = "containers";

using Engine = std::pair<std::string, std::string>;

nlohmann::json resource_of(const Params& p, const std::string& id) {
  return engine_resource(p, {{"kind", "paused"}, {"container", id}});
}

// `docker unpause`, which must run even while the run is being interrupted.
void unpause(proc::Runner& runner, const std::vector<std::string>& ids, const Engine& engine,
             const std::function<void(std::string_view)>& log) {
  end_on_engine(runner, {"unpause"}, ids, engine, kShortCommand, "is not paused", log);
}

void unpause_recorded(proc::Runner& runner, const fs::path& record, const std::function<void(std::string_view)>& log) {
  auto text = read_file(record / kPausedFile);
  if (!text) return;
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (!json.is_object() || !json.contains("ids") || !json["ids"].is_array()) return;
  std::vector<std::string> ids;
  for (const auto& id : json["ids"])
    if (id.is_string()) ids.push_back(id.get<std::string>());
  if (ids.empty()) return;
  if (log) log(fmt::format("unpausing {} container(s) that a run which died left paused", ids.size()));
  unpause(runner, ids, {json.value("context", ""), json.value("host", "")}, log);
}

// `docker pause` of one container, again when the cgroup freeze raced with an exec in it
// (a healthcheck): "OCI runtime pause failed: unable to freeze" is transient.
Status pause_one(ActionContext& ctx, const Params& p, const std::string& id) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"pause", "--", id});
  constexpr int kRetries = 3;
  for (int attempt = 0;; ++attempt) {
    auto done = run(ctx, p, argv, {.cap = kShortCommand});
    if (done && done->succeeded()) return ok();
    bool freeze_race = done && done->err.find("unable to freeze") != std::string::npos;
    if (!freeze_race || attempt == kRetries || proc::cancel_requested())
      return std::unexpected(explain(ctx, p, proc::display_command(argv), done));
    if (ctx.log) ctx.log(fmt::format("docker pause {}: unable to freeze (a healthcheck ran); trying again", id));
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
  }
}

}  // namespace

void unpause_orphans(proc::Runner& runner, const std::function<void(std::string_view)>& log) {
  sweep_dead_runtime_subdirs(kPausedRecord, [&](const fs::path& record) { unpause_recorded(runner, record, log); });
}

Result<std::vector<std::string>> containers_using(ActionContext& ctx, const Params& p, const std::string& volume) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"ps", "--filter", "volume=" + volume, "--format", "{{.Names}} ({{.ID}}) {{.State}}"});
  auto done = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!done) return std::unexpected(done.error());
  return nonempty_lines(done->out);
}

PausedContainers::~PausedContainers() { release(); }

Status PausedContainers::guard(const std::vector<std::string>& ids) {
  Engine engine{p_.str("context"), p_.str("host")};
  auto record = make_runtime_subdir(kPausedRecord, [&](const fs::path& dead) { unpause_recorded(ctx_.runner, dead, ctx_.log); });
  if (!record) return fail(step_prefix(ctx_) + "before pausing: " + record.error().message);
  record_ = *record;
  nlohmann::json what = {{"context", engine.first}, {"host", engine.second}, {"ids", ids}};
  RB_TRY(write_file_atomic(record_ / kPausedFile, what.dump()));
  auto guardian = ctx_.runner.guard(engine_command({"unpause"}, ids, engine, kShortCommand));
  if (!guardian) return fail(fmt::format("{}before pausing: {}", step_prefix(ctx_), guardian.error().message));
  guardian_ = std::move(*guardian);
  return ok();
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
  if (ids_.empty()) return ok();
  // Every container this backup holds, not only those it pauses itself: in a parallel
  // group the step that paused one may finish first, and its guard with it.
  if (auto guarded = guard(ids_); !guarded) {
    release();
    return guarded;
  }
  for (const auto& id : to_pause)
    if (auto paused = pause_one(ctx_, p_, id); !paused) {
      release();
      return paused;
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
  guardian_.reset();  // after the unpause: until then a death of the run still undoes the pause
  if (!record_.empty()) {
    std::error_code ec;
    fs::remove_all(record_, ec);
    record_.clear();
  }
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
  unpause_orphans(ctx.runner, ctx.log);
}

}  // namespace rollback::actions::docker
