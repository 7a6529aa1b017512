// The tar stream between a helper container and the host (docker_volume_stream.hpp).
#include <rollback/actions/docker_volume_stream.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/runtime_dir.hpp>
#include <rollback/util/tar_filter.hpp>
#include <rollback/util/text.hpp>

#include "docker_volume_checks.hpp"

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

constexpr int kPipeBytes = 1 << 20;  // fewer wake-ups than the 64 KiB default

// The stream's FIFO and the volume's measured size, in a private subdir of the runtime dir
// (util/runtime_dir.hpp): not beside the archive, whose folder may be read-only (a restore
// from a backup mount), shared, or watched by a sync. Removed when the stream ends; a run
// killed meanwhile leaves it for the next stream's sweep.
class StreamDir {
 public:
  explicit StreamDir(ActionContext& ctx) : ctx_(ctx) {}
  ~StreamDir() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  StreamDir(const StreamDir&) = delete;
  StreamDir& operator=(const StreamDir&) = delete;

  Status make() {
    auto dir = make_runtime_subdir("stream");
    if (!dir) return fail(step_prefix(ctx_) + dir.error().message);
    dir_ = *dir;
    RB_TRY(check_mountable(ctx_, dir_));
    if (::mkfifo(path().c_str(), 0600) != 0)
      return fail(fmt::format("{}cannot make a FIFO at {}: {}", step_prefix(ctx_), path().string(), std::strerror(errno)));
    return ok();
  }
  const fs::path& dir() const { return dir_; }
  fs::path path() const { return dir_ / "fifo"; }
  fs::path companion() const { return dir_ / "size"; }  // the volume's size, for the room check

 private:
  ActionContext& ctx_;
  fs::path dir_;
};

// Reads the FIFO until its writer closes it. Gives up when the helper ended without ever
// opening it (it failed to start). `connected` runs once, before the first byte is used.
Status drain(const fs::path& fifo, const std::atomic<bool>& helper_done, const Sink& consume,
             const std::function<Status()>& connected) {
  int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open {}: {}", fifo.string(), std::strerror(errno)));
  ::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
  std::string buf(kPipeBytes, '\0');
  bool seen_writer = false;
  Status result = ok();
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 100);
    if (ready == 0) {
      if (helper_done.load() && !seen_writer) {
        result = fail("the helper ended before it opened the stream");
        break;
      }
      continue;
    }
    if (ready < 0 && errno == EINTR) continue;
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) {
      result = fail(fmt::format("cannot read the stream: {}", std::strerror(errno)));
      break;
    }
    if (n == 0) break;  // the writer closed it: the end of the stream
    if (!seen_writer) {
      seen_writer = true;
      if (connected) result = connected();
      if (!result) break;
    }
    result = consume(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!result) break;
  }
  ::close(fd);  // a writer still at it now gets EPIPE and stops
  return result;
}

// Opens the FIFO for writing once a reader has it open (or the helper ended first).
Result<int> open_for_writing(const fs::path& fifo, const std::atomic<bool>& helper_done) {
  for (;;) {
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      ::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
      return fd;
    }
    if (errno != ENXIO) return fail(fmt::format("cannot open {}: {}", fifo.string(), std::strerror(errno)));
    if (helper_done.load()) return fail("the helper ended before it opened the stream");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool remote_engine(const Params& p) {
  if (p.has("context")) return true;
  std::string host = p.has("host") ? p.str("host") : [] {
    const char* env = std::getenv("DOCKER_HOST");
    return std::string(env ? env : "");
  }();
  return !host.empty() && !host.starts_with("unix://");
}

// What a helper's own exit says better than the pump: its room check refused, or it ran out
// of space (the pump then only saw a reader that stopped: "Broken pipe").
using Refusal = std::function<std::optional<Error>(const proc::Completed&)>;

// One helper command's run, with the pump on another thread; the pump's result first when
// it failed (it explains why the helper then failed: a bad stream), unless `refusal` reads
// a better reason in the helper's exit.
Status with_pump(ActionContext& ctx, const Params& p, const std::function<Result<proc::Completed>()>& helper,
                 const std::function<Status(const std::atomic<bool>&)>& pump, const std::string& what,
                 const Refusal& refusal = {}) {
  std::atomic<bool> helper_done{false};
  Status pumped = ok();
  std::thread worker([&] { pumped = pump(helper_done); });
  auto done = helper();
  helper_done = true;
  worker.join();
  if (done && !done->succeeded() && refusal)
    if (auto refused = refusal(*done)) return std::unexpected(*refused);
  if (!pumped) return fail(step_prefix(ctx) + pumped.error().message);
  if (!done || !done->succeeded()) return std::unexpected(explain(ctx, p, what, done));
  return ok();
}

struct ApiFifos {
  std::optional<fs::path> stdin_fifo, stdout_fifo;
};

// The archive API for a remote engine: a created helper holding the volume, `docker cp`
// to or from it through a local FIFO, the helper removed whatever happens.
Status copy_through_api(ActionContext& ctx, const Params& p, const std::string& mount, const std::string& image,
                        const std::function<std::vector<std::string>(const std::string&)>& cp_argv, const ApiFifos& fifos,
                        const std::function<Status(const std::atomic<bool>&)>& pump, const Refusal& refusal = {}) {
  CreatedHelper held(ctx, p, helper_for(ctx));
  RB_TRY(held.create({mount}, image));
  auto argv = cp_argv(held.helper().name);
  RunOptions options{.stdout_path = fifos.stdout_fifo, .stdin_path = fifos.stdin_fifo, .log_output = false};
  return with_pump(ctx, p, [&] { return run(ctx, p, argv, options); }, pump, redact(proc::display_command(argv)),
                   refusal);
}

std::uint64_t read_size_kib(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return 0;
  return static_cast<std::uint64_t>(parse_number(*text).value_or(0));
}

}  // namespace

Channel channel_for(const Params& p) {
  auto wanted = p.str("channel", "auto");
  if (wanted == "fifo") return Channel::Fifo;
  if (wanted == "api") return Channel::Api;
  return remote_engine(p) ? Channel::Api : Channel::Fifo;
}

Result<BackupResult> stream_backup(ActionContext& ctx, const Params& p, const std::string& volume, const fs::path& into,
                                   Compression compression, const std::function<Status(std::uint64_t)>& room) {
  StreamDir fifo(ctx);
  RB_TRY(fifo.make());
  const fs::path size_file = fifo.companion();
  ArchiveWriter writer(into, compression, static_cast<int>(p.integer("level", 0)));
  RB_TRY(writer.open());
  BackupResult result;
  auto check_room = [&]() -> Status {
    result.volume_bytes = read_size_kib(size_file) * 1024;
    return room ? room(result.volume_bytes) : ok();
  };
  auto pump = [&](const std::atomic<bool>& helper_done) {
    return drain(fifo.path(), helper_done, [&](std::string_view d) { return writer.write(d); }, check_room);
  };
  auto helper = helper_for(ctx);
  auto image = p.str("image", kDefaultHelperImage);
  Status streamed = ok();
  if (channel_for(p) == Channel::Fifo) {
    // du first, into a file the host reads before it writes a byte; then the tar itself.
    std::string script = "du -sk /data | cut -f1 > /stream/size; exec tar cf /stream/fifo -C /data .";
    auto argv = helper_argv(p, helper, {volume + ":/data:ro", fifo.dir().string() + ":/stream"}, image,
                            {"sh", "-c", script});
    streamed = with_pump(ctx, p, [&] { return run_helper(ctx, p, helper, argv); }, pump,
                         redact(proc::display_command(argv)));
  } else {
    auto sized = run_checked(ctx, p, helper_argv(p, helper, {volume + ":/data:ro"}, image, {"du", "-sk", "/data"}),
                             {.cap = kShortCommand, .log_output = false});
    if (!sized) return std::unexpected(sized.error());
    RB_TRY(write_file_atomic(size_file, sized->out.substr(0, sized->out.find_first_of(" \t"))));
    auto copy = docker_argv(p);
    streamed = copy_through_api(ctx, p, volume + ":/data:ro", image,
                                [&](const std::string& name) {
                                  copy.insert(copy.end(), {"cp", name + ":/data/.", "-"});
                                  return copy;
                                },
                                {.stdout_fifo = fifo.path()}, pump);
  }
  if (!streamed) return std::unexpected(streamed.error());
  auto facts = writer.close();
  if (!facts) return fail(fmt::format("{}the copy of volume {}: {}", step_prefix(ctx), volume, facts.error().message));
  result.facts = *facts;
  return result;
}

Result<RestoreResult> stream_restore(ActionContext& ctx, const Params& p, const std::string& volume,
                                     const fs::path& from, const RestoreOptions& options) {
  bool clean = options.clean, keep_special = options.keep_special;
  StreamDir fifo(ctx);
  RB_TRY(fifo.make());
  RestoreResult result;
  TarChecker written;  // what reached the helper: its end marker makes a closed reader harmless
  auto pump = [&](const std::atomic<bool>& helper_done) -> Status {
    auto fd = open_for_writing(fifo.path(), helper_done);
    if (!fd) return std::unexpected(fd.error());
    bool reader_gone = false;
    Sink to_helper = [&](std::string_view data) -> Status {
      if (reader_gone) return fail("the helper stopped reading");
      if (auto w = write_all(*fd, data, fifo.path()); !w) {
        reader_gone = true;  // EPIPE: the helper's tar stopped reading
        return fail(fmt::format("the helper stopped reading ({})", w.error().message));
      }
      return written.feed(data);
    };
    // Data, not devices: the filter sits on the host, before the helper's tar (run as
    // root in its container) or the engine sees a byte. `keep` passes the stream as it is.
    TarFilter filter(to_helper, {.drop_special = !keep_special, .clear_setid = !keep_special});
    auto read = keep_special ? read_archive(from, to_helper)
                             : read_archive(from, [&](std::string_view data) { return filter.feed(data); });
    if (read && !keep_special)
      if (auto rest = filter.finish(); !rest) read = std::unexpected(rest.error());
    ::close(*fd);
    result.dropped = filter.dropped();
    result.cleared = filter.cleared();
    if (!read && reader_gone && written.ended()) return ok();  // tar stops at the end marker
    if (!read) return std::unexpected(read.error());
    result.facts = *read;
    return ok();
  };
  auto helper = helper_for(ctx);
  auto image = p.str("image", kDefaultHelperImage);
  // Files made since the backup must not survive the restore: empty first, then extract;
  // but only once the helper has seen that the archive fits where it goes.
  std::string prepare = room_shell_check(clean) + (clean ? "find /data -mindepth 1 -maxdepth 1 -exec rm -rf {} + && " : "");
  std::vector<std::string> need = {"restore", std::to_string(options.need_kib)};  // $0, $1
  Refusal refusal = [&](const proc::Completed& done) { return room_refusal(ctx, volume, options.need_kib, done); };
  Status streamed = ok();
  if (channel_for(p) == Channel::Fifo) {
    std::vector<std::string> command = {"sh", "-c", prepare + "tar xf /stream/fifo -C /data"};
    command.insert(command.end(), need.begin(), need.end());
    auto argv = helper_argv(p, helper, {volume + ":/data", fifo.dir().string() + ":/stream"}, image, command);
    streamed = with_pump(ctx, p, [&] { return run_helper(ctx, p, helper, argv); }, pump,
                         redact(proc::display_command(argv)), refusal);
  } else {
    std::vector<std::string> command = {"sh", "-c", prepare + "true"};
    command.insert(command.end(), need.begin(), need.end());
    auto argv = helper_argv(p, helper, {volume + ":/data"}, image, command);
    if (auto emptied = run_helper(ctx, p, helper, argv); !emptied || !emptied->succeeded()) {
      if (emptied)
        if (auto refused = refusal(*emptied)) return std::unexpected(*refused);
      return std::unexpected(explain(ctx, p, "emptying volume " + volume, emptied));
    }
    helper = helper_for(ctx);
    auto copy = docker_argv(p);
    streamed = copy_through_api(ctx, p, volume + ":/data", image,
                                [&](const std::string& name) {
                                  copy.insert(copy.end(), {"cp", "-", name + ":/data"});
                                  return copy;
                                },
                                {.stdin_fifo = fifo.path()}, pump, refusal);
  }
  if (!streamed) return std::unexpected(streamed.error());
  return result;
}

}  // namespace rollback::actions::docker
