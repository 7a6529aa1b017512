// `rollback rehearse PLAN --target T`: the plan's restore and verify steps run against
// throwaway copies, never production. A Rehearsal is the set of copies of one run and the
// map from production names to theirs:
// - folders a step writes into (the stack dir) are copied under <state>/rehearsals/<run id>
//   first, and the step writes into the copy;
// - volumes become labelled copies (a restore fills an empty one; a volume the plan does not
//   restore starts as a copy of production's);
// - a compose project becomes project rbr-<run id>, started from the resolved `config` of
//   the target's compose file with container_name dropped, named volumes renamed to the
//   copies and published ports replaced by free ones; URLs to a moved port follow it;
// - a DSN becomes a scratch database created for the run (or the moved port of a database
//   the rehearsal started);
// - a git work tree becomes a local clone (git.revert never pushes from it).
// Every container, network and volume carries rollback.rehearsal=<run id> and
// rollback.state=<state dir>; the scratch database is named rb_rehearsal_<...>. All of it is
// removed at the end (remove_all), and by the next run of the state dir if this one was killed.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/plan/plan.hpp>

namespace rollback::actions {

inline constexpr const char* kRehearsalLabel = "rollback.rehearsal";

class Rehearsal {
 public:
  Rehearsal(std::string run_id, std::string state_dir);

  const std::string& run_id() const { return run_id_; }
  const std::string& state_dir() const { return state_dir_; }
  std::filesystem::path dir() const;           // <state>/rehearsals/<run id>
  std::vector<std::string> labels() const;     // "rollback.rehearsal=<id>", "rollback.state=<dir>"

  // While false (preflight) the calls below name what they would make and check what they
  // can, but make nothing.
  bool for_real = false;
  // Called once for each thing made, before it is made: the pipeline journals it as held.
  std::function<void(const nlohmann::json& resource)> made;

  // Where a rehearsed step reads or writes `production` (a file or folder): inside the
  // rehearsal's copy of the folder holding it, copied from production on first use.
  Result<std::filesystem::path> mirror(ActionContext& ctx, const std::filesystem::path& production, bool is_dir);
  // The copy of `production` when a step already made one, else nullopt (read it as is).
  std::optional<std::filesystem::path> mirrored(const std::filesystem::path& production) const;

  // The labelled copy of volume `production`: empty, or filled from production's content
  // (read-only) when `fill` and it exists. Made once; later calls return the same name.
  Result<std::string> volume(ActionContext& ctx, const Params& docker, const std::string& production, bool fill);
  std::string helper_image;  // the image a volume step named last: the one fills run on

  std::string project_for(const std::string& production) const;  // rbr-<run id>
  void started(const std::string& production_project);
  std::optional<std::string> project(const std::string& production) const;  // once started

  // A free TCP port on `host_ip` ("" = all) for a published port that moved.
  Result<int> free_port(const std::string& host_ip);
  void moved_port(int production, int rehearsal);
  std::optional<std::string> map_url(const std::string& url) const;  // nullopt: not moved

  // A DSN to the rehearsal's database: the moved port of a database it started, else a
  // scratch database on the same server (created on first use).
  Result<std::string> map_dsn(ActionContext& ctx, const std::string& production_dsn);

  // A local clone of the work tree `repo` (made once).
  Result<std::filesystem::path> clone(ActionContext& ctx, const std::string& repo);

  // Restore-phase steps that ran against copies (planned: at preflight): none means
  // "nothing to rehearse".
  size_t restores = 0;
  size_t planned_restores = 0;
  size_t verifies = 0;  // verify-phase steps that ran against the copies

  // What was made and moved, for the report (report.json's extra.rehearsal).
  nlohmann::json summary() const;
  const std::vector<nlohmann::json>& made_so_far() const { return made_; }

  // Removes every container, network and volume labelled with this run, the scratch
  // databases and the rehearsal dir. Safe to call twice; never throws.
  void remove_all(proc::Runner& runner, const std::function<void(std::string_view)>& log);

 private:
  std::string run_id_, state_dir_;
  std::set<std::filesystem::path> copied_;           // production folders copied
  std::map<std::filesystem::path, std::filesystem::path> mirrors_;
  std::map<std::string, std::string> volumes_;       // production -> copy
  std::set<std::string> projects_;                   // production projects started
  std::map<int, int> ports_;                          // production -> rehearsal
  std::map<std::string, std::string> databases_;     // production DSN -> scratch DSN
  std::vector<nlohmann::json> made_;                  // what remove_all removes
  std::map<std::string, std::filesystem::path> clones_;
  bool dir_made_ = false;
  void note(const nlohmann::json& resource);
  Status make_dir();
};

// How a rehearsal treats one step: backup, stop and notify steps are skipped (production is
// left as it is); read-only assess steps run as written (they only look at production);
// every other step as its action's `rehearse` says, or skipped with a note when it has none.
Result<Rehearsed> rehearse_step(Rehearsal& rehearsal, plan::Phase phase, const Action& action,
                                const YAML::Node& with, ActionContext& ctx, const Params& params);

// Removes rehearsal leftovers: the resources in `ctx.held` (journaled by a run that died)
// and, by label, every rehearsal container, network and volume of the state dir and every
// rehearsal dir under it. The pipeline calls it at each run's start, holding the lock.
void clean_up_rehearsals(CleanupContext& ctx);

}  // namespace rollback::actions
