// How the fs actions rehearse (fs_rehearse.hpp).
#include "fs_rehearse.hpp"

#include <filesystem>

namespace rollback::actions::fs_rehearse {
namespace {
namespace fs = std::filesystem;

// Paths a step writes go into the rehearsal's copy of their folder.
Result<Rehearsed> write_paths(Rehearsal& r, ActionContext& ctx, const Params& p, const std::vector<std::string>& keys,
                              bool dir_path = false) {
  auto all = p.all();
  for (const auto& key : keys) {
    if (!p.has(key)) continue;
    std::error_code ec;
    auto copy = r.mirror(ctx, p.str(key), dir_path || fs::is_directory(p.str(key), ec));
    if (!copy) return std::unexpected(copy.error());
    all[key] = copy->string();
  }
  // What a source path reads: the copy when an earlier step wrote one, else production's.
  if (p.has("from"))
    if (auto copy = r.mirrored(p.str("from"))) all["from"] = copy->string();
  return Rehearsed::run(Params(all), "into the rehearsal's copy");
}

}  // namespace

Result<Rehearsed> copy(Rehearsal& r, ActionContext& ctx, const Params& p) {
  std::error_code ec;
  // At preflight, later steps are checked against the file this one will put in place.
  if (!r.for_real && !fs::is_directory(p.str("to"), ec)) r.plan_copy(p.str("to"), p.str("from"));
  return write_paths(r, ctx, p, {"to"});
}

Result<Rehearsed> move(Rehearsal& r, ActionContext& ctx, const Params& p) {
  // Never moves production's file away: the source is copied into the rehearsal first.
  std::error_code ec;
  auto from = r.mirror(ctx, p.str("from"), fs::is_directory(p.str("from"), ec));
  if (!from) return std::unexpected(from.error());
  auto to = r.mirror(ctx, p.str("to"), false);
  if (!to) return std::unexpected(to.error());
  return Rehearsed::run(with_param(with_param(p, "from", from->string()), "to", to->string()),
                        "within the rehearsal's copy");
}

Result<Rehearsed> mkdir(Rehearsal& r, ActionContext& ctx, const Params& p) {
  return write_paths(r, ctx, p, {"path"}, true);
}

Result<Rehearsed> remove(Rehearsal& r, ActionContext& ctx, const Params& p) { return write_paths(r, ctx, p, {"path"}); }

// What a verify step looks for: in the rehearsal's copy when the folder was copied.
Result<Rehearsed> latest(Rehearsal& r, ActionContext&, const Params& p) {
  auto glob = p.str("glob");
  auto wild = glob.find_first_of("*?[");
  auto cut = glob.rfind('/', wild == std::string::npos ? glob.size() : wild);
  if (cut == std::string::npos || cut == 0) return Rehearsed::run(p);
  auto folder = glob.substr(0, cut);
  if (auto copy = r.mirrored(folder))
    return Rehearsed::run(with_param(p, "glob", copy->string() + glob.substr(cut)), "in the copy");
  return Rehearsed::run(p);
}

Result<Rehearsed> checksum(Rehearsal& r, ActionContext& ctx, const Params& p) {
  if (p.str("mode", "verify") != "write") {
    if (auto copy = r.mirrored(p.str("dir"))) return Rehearsed::run(with_param(p, "dir", copy->string()));
    return Rehearsed::run(p);
  }
  return write_paths(r, ctx, p, {"dir"}, true);
}

}  // namespace rollback::actions::fs_rehearse
