#include <rollback/engine/lock.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <rollback/util/file_lock.hpp>

namespace rollback::engine {
namespace {

nlohmann::json holder_json(const LockHolder& h) {
  nlohmann::json j = {{"run_id", h.run_id}, {"pid", h.pid}, {"operator", h.operator_name},
                      {"started", h.started}, {"plan", h.plan}};
  if (h.preemptible) j["preemptible"] = true;
  return j;
}

constexpr const char* kStarting = "(unknown run, still starting)";

LockHolder read_holder(int fd) {
  std::string text;
  char buf[4096];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    offset += n;
  }
  LockHolder h;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    // The holder is between flock() and writing its name: still a holder.
    h.run_id = kStarting;
    return h;
  }
  h.run_id = j.value("run_id", "");
  h.pid = j.value("pid", 0L);
  h.operator_name = j.value("operator", "");
  h.started = j.value("started", "");
  h.plan = j.value("plan", "");
  h.preemptible = j.value("preemptible", false);
  return h;
}

}  // namespace

std::string LockHolder::describe() const {
  if (!error.empty()) return error;
  std::string out = fmt::format("run {} (pid {}", run_id.empty() ? "(unknown)" : run_id, pid);
  if (!plan.empty()) out += fmt::format(", plan {}{}", plan, preemptible ? ", a rehearsal" : "");
  if (!operator_name.empty()) out += fmt::format(", operator {}", operator_name);
  if (!started.empty()) out += fmt::format(", since {}", started);
  return out + ")";
}

RunLock::RunLock(RunLock&& other) noexcept : file_(std::move(other.file_)) {}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    release();
    file_ = std::move(other.file_);
  }
  return *this;
}

RunLock::~RunLock() { release(); }

void RunLock::release() {
  if (!file_.held()) return;
  // Still holding the lock, so nobody reads a half-cleared file.
  if (::ftruncate(file_.fd(), 0) != 0) {
  }
  file_.release();
}

namespace {

// Who holds the lock: the name it wrote, with the PID the kernel reports for the flock
// (never only the PID the file claims).
LockHolder holder_of(const std::filesystem::path& lock_file) {
  LockHolder h;
  int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    h = read_holder(fd);
    ::close(fd);
  } else {
    h.run_id = kStarting;
  }
  if (auto pid = FileLock::holder_pid(lock_file)) h.pid = *pid;
  return h;
}

}  // namespace

std::expected<RunLock, LockHolder> RunLock::acquire(const std::filesystem::path& lock_file,
                                                    const LockHolder& me) {
  std::error_code ec;
  if (lock_file.has_parent_path()) std::filesystem::create_directories(lock_file.parent_path(), ec);
  auto fail_with = [](std::string text) {
    LockHolder err;
    err.error = std::move(text);
    return std::unexpected(err);
  };
  auto taken = FileLock::take(lock_file, FileLock::Wait::No);
  if (!taken) return fail_with(taken.error().message);
  // The holder writes its name just after it takes the lock: a run that lost by a few
  // microseconds waits a moment for it, so its message names who holds the lock (or takes
  // the lock, if the holder let go meanwhile).
  auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!*taken && holder_of(lock_file).run_id == kStarting && std::chrono::steady_clock::now() < give_up_at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    taken = FileLock::take(lock_file, FileLock::Wait::No);
    if (!taken) return fail_with(taken.error().message);
  }
  if (!*taken) return std::unexpected(holder_of(lock_file));
  RunLock lock;
  lock.file_ = std::move(**taken);
  const int fd = lock.file_.fd();
  std::string content = holder_json(me).dump() + "\n";
  if (::ftruncate(fd, 0) == 0) {
    const char* p = content.data();
    size_t left = content.size();
    off_t offset = 0;
    while (left > 0) {
      ssize_t n = ::pwrite(fd, p, left, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the lock is ours anyway; only the loser's message is poorer
      p += n;
      left -= static_cast<size_t>(n);
      offset += n;
    }
    ::fsync(fd);
  }
  return lock;
}

LockHolder RunLock::holder(const std::filesystem::path& lock_file) {
  if (!FileLock::holder_pid(lock_file)) return {};
  return holder_of(lock_file);
}

std::expected<RunLock, LockHolder> RunLock::acquire_preempting(
    const std::filesystem::path& lock_file, const LockHolder& me, std::chrono::milliseconds patience,
    const std::function<bool(const LockHolder&)>& ask_to_stop) {
  auto taken = acquire(lock_file, me);
  if (taken || me.preemptible || !taken.error().preemptible || !taken.error().error.empty()) return taken;
  auto first = taken.error();
  if (ask_to_stop && !ask_to_stop(first)) return taken;  // not asked: nothing to wait for
  auto give_up_at = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < give_up_at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    taken = acquire(lock_file, me);
    if (taken) return taken;
    const auto& now = taken.error();
    if (!now.error.empty()) return taken;
    // The rehearsal lets go by emptying its record, then unlocking: a read in between sees
    // its process with no record, or no holder and no record at all. It is leaving.
    bool leaving = now.pid == 0 || now.pid == first.pid || now.run_id == first.run_id;
    // Someone else took it meanwhile (a real run, named once it has written its record):
    // that contention is not ours to end.
    if (!leaving && now.run_id != kStarting) return taken;
  }
  return taken;
}

}  // namespace rollback::engine
