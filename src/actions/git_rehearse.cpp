// How git.revert rehearses (include/rollback/actions/git.hpp): on a local clone of the work
// tree under the rehearsal dir (kind "clone", removed by its record), never pushed.
#include <rollback/actions/git.hpp>

#include <fmt/format.h>

#include <rollback/actions/rehearsal.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::git {
namespace {
namespace fs = std::filesystem;

constexpr const char* kClones = "clone";  // its records; Rehearsal::map: repository -> clone

}  // namespace

Result<fs::path> rehearsal_clone(Rehearsal& r, ActionContext& ctx, const std::string& repo) {
  if (auto clone = r.mapped(kClones, repo)) return fs::path(*clone);
  fs::path where = r.dir() / "git" / rehearsal_name(fs::path(repo).filename().string());
  if (!r.for_real) return where;
  RB_TRY(r.make_dir());
  std::error_code ec;
  fs::create_directories(where.parent_path(), ec);
  r.record({{"kind", kClones}, {"path", where.string()}});
  auto done = run(ctx.runner, where.parent_path().string(),
                  {"clone", "--quiet", "--no-hardlinks", "--", repo, where.string()}, ctx.remaining(Millis(300'000)));
  if (!done) return std::unexpected(done.error());
  if (!done->succeeded()) return fail(fmt::format("cannot clone {} for the rehearsal: {}", repo, trim(done->err)));
  if (ctx.log) ctx.log(fmt::format("cloned {} into {} (nothing is pushed from it)", repo, where.string()));
  r.map(kClones, repo, where.string());
  return where;
}

CopyKind rehearsal_clones() {
  return CopyKind{.name = kClones,
                  .remove = [](const nlohmann::json& record, CleanupContext& ctx) {
                    remove_rehearsal_path(record.value("path", ""), ctx.state_dir, ctx.log);
                  }};
}

Result<Rehearsed> rehearse_revert(Rehearsal& r, ActionContext& ctx, const Params& p) {
  auto all = p.all();
  // Preflight checks the production clone itself, read-only (the push is gone below, so not
  // even a fetch): the clone the run makes is a copy of it, and does not exist yet.
  if (r.for_real) {
    auto clone = rehearsal_clone(r, ctx, p.str("repo"));
    if (!clone) return std::unexpected(clone.error());
    all["repo"] = clone->string();
  }
  if (all.contains("push") && all["push"].is_object() && all["push"].contains("branch") && !all.contains("branch"))
    all["branch"] = all["push"]["branch"];
  all.erase("push");  // a rehearsal never pushes
  return Rehearsed::run(Params(all), "on a local clone, not pushed");
}

}  // namespace rollback::actions::git
