// The state dir's runs (include/rollback/engine/state_store.hpp).
#include <rollback/engine/state_store.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rollback/engine/journal.hpp>
#include <rollback/engine/lock.hpp>

namespace rollback::engine {
namespace fs = std::filesystem;

std::string_view to_string(RunState state) {
  switch (state) {
    case RunState::Running: return "running";
    case RunState::Finished: return "finished";
    case RunState::Killed: return "killed";
  }
  return "killed";
}

std::string StateStore::live_run_id() const { return RunLock::holder(lock_file()).run_id; }

Result<StoredRun> StateStore::read(const fs::path& run_dir, const std::string& live_run) const {
  auto journal = run_dir / "journal.jsonl";
  // read_journal says "cannot read": find out whether that is a permission problem, which
  // must never pass for "no such run".
  if (::access(journal.c_str(), R_OK) != 0 && errno == EACCES)
    return fail(fmt::format("{}: permission denied (the state dir belongs to another user? use --state-dir)",
                            journal.string()));
  auto record = read_journal(journal);
  if (!record) return std::unexpected(record.error());
  StoredRun run{std::move(*record), RunState::Finished, run_dir};
  if (!run.record.ended)
    run.state = !live_run.empty() && live_run == run.record.run_id ? RunState::Running : RunState::Killed;
  return run;
}

namespace {

Status real_dir_or_absent(const fs::path& dir) {
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) return ok();
  if (S_ISLNK(st.st_mode)) return fail(fmt::format("{} is a symlink: refusing to follow it", dir.string()));
  if (!S_ISDIR(st.st_mode)) return fail(fmt::format("{} is not a folder", dir.string()));
  return ok();
}

}  // namespace

Status StateStore::check_runs_dir() const { return real_dir_or_absent(runs_dir()); }

Status StateStore::check_run_dir(const std::string& run_id) const {
  RB_TRY(check_runs_dir());
  return real_dir_or_absent(run_dir(run_id));
}

Result<std::vector<StoredRun>> StateStore::runs() const {
  std::vector<StoredRun> out;
  RB_TRY(check_runs_dir());
  std::error_code ec;
  if (!fs::exists(runs_dir(), ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory)
      return fail(fmt::format("cannot read {}: {}", runs_dir().string(), ec.message()));
    return out;
  }
  fs::directory_iterator it(runs_dir(), ec);
  if (ec) return fail(fmt::format("cannot read {}: {}", runs_dir().string(), ec.message()));
  const std::string live = live_run_id();
  for (fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return fail(fmt::format("cannot read {}: {}", runs_dir().string(), ec.message()));
    if (!fs::exists(it->path() / "journal.jsonl", ec)) continue;
    auto run = read(it->path(), live);
    if (!run) {
      if (run.error().message.find("permission denied") != std::string::npos) return std::unexpected(run.error());
      continue;  // a journal that does not parse is no run (history shows what reads)
    }
    out.push_back(std::move(*run));
  }
  std::sort(out.begin(), out.end(),
            [](const StoredRun& a, const StoredRun& b) { return a.record.started > b.record.started; });
  std::set<std::string> later_real_runs;  // plans with a newer real run, walking newest first
  for (auto& run : out) {
    const auto& r = run.record;
    if (r.kind == plan::Kind::Backup && later_real_runs.contains(r.plan_name)) run.superseded = true;
    if (!r.dry_run && !r.rehearsal) later_real_runs.insert(r.plan_name);
  }
  return out;
}

Result<StoredRun> StateStore::run(const std::string& run_id) const {
  if (run_id.empty() || run_id.find('/') != std::string::npos || run_id == "." || run_id == "..")
    return fail(fmt::format("'{}' is not a run id", run_id));
  if (!fs::exists(run_dir(run_id) / "journal.jsonl"))
    return fail(fmt::format("no run {} in {}", run_id, runs_dir().string()));
  auto one = read(run_dir(run_id), live_run_id());
  if (!one || one->record.kind != plan::Kind::Backup) return one;
  // Superseded or not depends on the other runs.
  if (auto all = runs())
    for (const auto& other : *all)
      if (other.record.run_id == run_id) one->superseded = other.superseded;
  return one;
}

bool StateStore::resumable(const StoredRun& run) {
  const auto& r = run.record;
  if (r.dry_run || r.rehearsal || run.superseded) return false;
  if (run.state == RunState::Running) return false;  // alive: nothing to resume yet
  if (run.state == RunState::Killed) return true;
  return r.result == ExitCode::Interrupted || r.result == ExitCode::StepFailed;
}

Result<std::optional<StoredRun>> StateStore::latest_resumable() const {
  auto all = runs();
  if (!all) return std::unexpected(all.error());
  for (auto& run : *all)
    if (resumable(run)) return std::optional<StoredRun>(std::move(run));
  return std::optional<StoredRun>();
}

Result<std::set<std::string>> StateStore::targets_needed() const {
  auto all = runs();
  if (!all) return std::unexpected(all.error());
  std::set<std::string> named;
  for (const auto& run : *all) {
    const auto& r = run.record;
    if (r.dry_run || r.rehearsal) continue;
    if (run.state != RunState::Running && !resumable(run)) continue;
    for (const auto& value : {r.target_name, r.target_path})
      if (!value.empty()) named.insert(value);
    for (const auto& [name, value] : r.vars)
      if (!value.empty()) named.insert(value);
  }
  return named;
}

std::vector<HeldResource> StateStore::held(const std::string& run_id) const {
  std::vector<HeldResource> out;
  if (!run_id.empty()) {
    if (auto one = run(run_id)) out = one->record.held;
    return out;
  }
  auto all = runs();
  if (!all) return out;
  for (const auto& r : *all)
    if (r.state == RunState::Killed) out.insert(out.end(), r.record.held.begin(), r.record.held.end());
  return out;
}

Result<std::optional<StoredRun>> StateStore::latest_of(const std::string& plan_name) const {
  auto all = runs();
  if (!all) return std::unexpected(all.error());
  for (auto& run : *all)
    if (plan_name.empty() || run.record.plan_name == plan_name) return std::optional<StoredRun>(std::move(run));
  return std::optional<StoredRun>();
}

std::optional<fs::path> StateStore::report_of(const StoredRun& run) const {
  if (auto it = run.record.extra.find("report"); it != run.record.extra.end() && it->is_string())
    return fs::path(it->get<std::string>());
  std::error_code ec;
  if (fs::exists(run.dir / "report.md", ec)) return run.dir / "report.md";
  return std::nullopt;
}

}  // namespace rollback::engine
