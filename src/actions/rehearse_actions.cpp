// How each action rehearses (Action::rehearse; include/rollback/actions/rehearsal.hpp),
// attached to the registered actions in one place so each adapter's file stays as it is.
// An action left out here cannot be rehearsed: exec.run (an arbitrary command), the swarm
// actions, docker.stats. Backup, stop and notify steps are skipped by phase before these run.
#include <fmt/format.h>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/rehearsal.hpp>

namespace rollback::actions {
namespace docker {
Result<Rehearsed> rehearse_compose(Rehearsal& r, ActionContext& ctx, const Params& p);  // rehearse_compose.cpp
}

namespace {
namespace fs = std::filesystem;
using Fn = std::function<Result<Rehearsed>(Rehearsal&, ActionContext&, const Params&)>;

Rehearsed as_is(const Params& p) { return Rehearsed::run(p); }

Fn skip(std::string why) {
  return [why](Rehearsal&, ActionContext&, const Params&) -> Result<Rehearsed> { return Rehearsed::skip(why); };
}

// Params with `key` replaced.
Params with(const Params& p, const std::string& key, nlohmann::json value) {
  auto all = p.all();
  all[key] = std::move(value);
  return Params(all);
}

// Paths a step writes go into the rehearsal's copy of their folder.
Fn write_paths(std::vector<std::string> keys, bool dir_path = false) {
  return [keys, dir_path](Rehearsal& r, ActionContext& ctx, const Params& p) -> Result<Rehearsed> {
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
  };
}

Result<Rehearsed> fs_move(Rehearsal& r, ActionContext& ctx, const Params& p) {
  // Never moves production's file away: the source is copied into the rehearsal first.
  std::error_code ec;
  auto from = r.mirror(ctx, p.str("from"), fs::is_directory(p.str("from"), ec));
  if (!from) return std::unexpected(from.error());
  auto to = r.mirror(ctx, p.str("to"), false);
  if (!to) return std::unexpected(to.error());
  auto params = with(with(p, "from", from->string()), "to", to->string());
  return Rehearsed::run(params, "within the rehearsal's copy");
}

// What a verify step looks for: in the rehearsal's copy when the folder was copied.
Result<Rehearsed> fs_latest(Rehearsal& r, ActionContext&, const Params& p) {
  auto glob = p.str("glob");
  auto wild = glob.find_first_of("*?[");
  auto cut = glob.rfind('/', wild == std::string::npos ? glob.size() : wild);
  if (cut == std::string::npos || cut == 0) return as_is(p);
  auto folder = glob.substr(0, cut);
  if (auto copy = r.mirrored(folder)) return Rehearsed::run(with(p, "glob", copy->string() + glob.substr(cut)), "in the copy");
  return as_is(p);
}

Result<Rehearsed> fs_checksum(Rehearsal& r, ActionContext& ctx, const Params& p) {
  if (p.str("mode", "verify") != "write") {
    if (auto copy = r.mirrored(p.str("dir"))) return Rehearsed::run(with(p, "dir", copy->string()));
    return as_is(p);
  }
  return write_paths({"dir"}, true)(r, ctx, p);
}

// URLs go to the port the rehearsal moved them to; one it did not move would reach production.
Result<Rehearsed> http_urls(Rehearsal& r, ActionContext&, const Params& p) {
  auto all = p.all();
  for (const char* key : {"url", "urls"}) {
    if (!p.has(key)) continue;
    nlohmann::json mapped = nlohmann::json::array();
    for (const auto& url : p.list(key)) {
      auto moved = r.map_url(url);
      if (!moved)
        return Rehearsed::skip(fmt::format("not rehearsed: {} is not a port the rehearsal moved; probing it would test "
                                           "production",
                                           url));
      mapped.push_back(*moved);
    }
    all[key] = std::string(key) == "url" ? mapped[0] : mapped;
  }
  return Rehearsed::run(Params(all), "against the rehearsal's ports");
}

Result<Rehearsed> pg_dsn(Rehearsal& r, ActionContext& ctx, const Params& p) {
  auto mapped = r.map_dsn(ctx, p.str("dsn"));
  if (!mapped) return std::unexpected(mapped.error());
  return Rehearsed::run(with(p, "dsn", *mapped), "against the rehearsal's database");
}

Result<Rehearsed> git_revert(Rehearsal& r, ActionContext& ctx, const Params& p) {
  auto all = p.all();
  // Preflight checks the production clone itself, read-only (the push is gone below, so not
  // even a fetch): the clone the run makes is a copy of it, and does not exist yet.
  if (r.for_real) {
    auto clone = r.clone(ctx, p.str("repo"));
    if (!clone) return std::unexpected(clone.error());
    all["repo"] = clone->string();
  }
  if (all.contains("push") && all["push"].is_object() && all["push"].contains("branch") && !all.contains("branch"))
    all["branch"] = all["push"]["branch"];
  all.erase("push");  // a rehearsal never pushes
  return Rehearsed::run(Params(all), "on a local clone, not pushed");
}

Result<Rehearsed> docker_volume(Rehearsal& r, ActionContext& ctx, const Params& p) {
  if (p.has("image")) r.helper_image = p.str("image");
  auto copy = r.volume(ctx, p, p.str("volume"), false);
  if (!copy) return std::unexpected(copy.error());
  return Rehearsed::run(with(p, "volume", *copy), "into volume " + *copy);
}

Result<Rehearsed> docker_project(Rehearsal& r, ActionContext&, const Params& p) {
  if (!p.has("project"))
    return Rehearsed::skip("not rehearsed: it selects containers by name, which would find production's");
  auto project = r.project(p.str("project"));
  if (!project) return Rehearsed::skip(fmt::format("not rehearsed: the rehearsal has not started project {}", p.str("project")));
  return Rehearsed::run(with(p, "project", *project), "project " + *project);
}

}  // namespace

void register_rehearsals(Registry& registry) {
  auto set = [&](const char* name, Fn fn) {
    registry.amend(name, [&](Action& a) { a.rehearse = fn; });
  };
  auto run_as_is = [](Rehearsal&, ActionContext&, const Params& p) -> Result<Rehearsed> { return as_is(p); };
  set("docker.compose", docker::rehearse_compose);
  set("docker.volume.restore", docker_volume);
  set("docker.volume.create", docker_volume);
  set("docker.volume.remove", docker_volume);
  set("docker.volume.backup", skip("not rehearsed: a backup (the rehearsal restores, it does not back up)"));
  set("docker.images.record", skip("not rehearsed: it records production's images for a backup"));
  set("docker.stop", skip("not rehearsed: it would stop production's containers"));
  set("docker.ps", docker_project);
  set("docker.exec", docker_project);
  set("fs.copy", write_paths({"to"}));
  set("fs.move", fs_move);
  set("fs.mkdir", write_paths({"path"}, true));
  set("fs.remove", write_paths({"path"}));
  set("fs.checksum", fs_checksum);
  set("fs.latest", fs_latest);
  set("fs.disk_free", run_as_is);
  set("wait.sleep", run_as_is);
  set("http.probe", http_urls);
  set("http.request", http_urls);
  set("pg.ready", pg_dsn);
  set("pg.query", pg_dsn);
  set("pg.restore", pg_dsn);
  set("pg.dump", skip("not rehearsed: a dump is a backup"));
  set("git.revert", git_revert);
  set("git.current", run_as_is);
  set("coolify.rollback", skip("not rehearsed: Coolify keeps no throwaway copy of an application to roll back"));
  set("notify.webhook", skip("not rehearsed: a rehearsal notifies nobody (its exit code and report do)"));
  set("notify.email", skip("not rehearsed: a rehearsal notifies nobody (its exit code and report do)"));
}

}  // namespace rollback::actions
