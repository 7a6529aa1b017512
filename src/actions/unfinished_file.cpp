// Files written under a temporary name (include/rollback/actions/unfinished_file.hpp).
#include <rollback/actions/unfinished_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <rollback/util/fs.hpp>

namespace rollback::actions {
namespace fs = std::filesystem;

UnfinishedFile::UnfinishedFile(ActionContext& ctx, fs::path final_path)
    : ctx_(ctx), final_(std::move(final_path)) {
  path_ = final_.parent_path() / fmt::format(".{}.partial-{}", final_.filename().string(), ::getpid());
  resource_ = {{"kind", "file"}, {"path", path_.string()}};
  if (ctx_.hold) ctx_.hold(resource_);
}

UnfinishedFile::~UnfinishedFile() {
  if (done_) return;
  std::error_code ec;
  fs::remove(path_, ec);
  if (ctx_.release) ctx_.release(resource_);
}

Status UnfinishedFile::commit() {
  std::error_code ec;
  fs::rename(path_, final_, ec);
  if (ec) return fail(fmt::format("cannot rename {} to {}: {}", path_.string(), final_.string(), ec.message()));
  int dir = ::open(final_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  done_ = true;
  if (ctx_.release) ctx_.release(resource_);
  return ok();
}

void remove_held_files(CleanupContext& ctx) {
  for (const auto& r : ctx.held) {
    if (r.value("kind", "") != "file") continue;
    fs::path path = r.value("path", "");
    std::error_code ec;
    // Only ever an unfinished file's name: a journal cannot be made to delete anything else.
    if (path.empty() || !is_unfinished_file(path.filename().string()) || !fs::remove(path, ec)) continue;
    if (ctx.log) ctx.log("removed " + path.string() + ", left unfinished by an interrupted run");
  }
}

}  // namespace rollback::actions
