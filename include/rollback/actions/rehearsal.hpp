// `rollback rehearse PLAN --target T`: the plan's restore and verify steps run against
// throwaway copies, never production. A Rehearsal is the generic part of one run's copies:
// - its run id, state dir and labels: every container, network and volume an adapter makes
//   carries rollback.rehearsal=<run id> and rollback.state=<state dir>;
// - the mirror of folders: a folder a step writes into (the stack dir) is copied under
//   <state>/rehearsals/<run id> first, and the step writes into the copy;
// - the mirror of ports: a published port an adapter moved, that URLs and DSNs follow;
// - the map from production names to the copies' names, by what they name;
// - the record of the copies made (journaled through `made`), the counters and the summary.
// What a copy is, how it is made and removed, is each adapter's, in its own file: a
// CopyKind (action.hpp) registered beside its actions, and the `rehearse` behaviour of each
// action (docker_rehearse.cpp: volumes and compose projects; docker_compose_rehearse.cpp: the
// compose file; postgres_rehearse.cpp: scratch databases; git_rehearse.cpp: clones;
// http_rehearse.cpp: URLs; fs_rehearse.cpp: paths). remove_all and clean_up_rehearsals hand
// the records to their registered kinds; this file names no adapter.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/plan/plan.hpp>

namespace rollback::actions {

inline constexpr const char* kRehearsalLabel = "rollback.rehearsal";
inline constexpr const char* kRehearsalStateLabel = "rollback.state";

class Rehearsal {
 public:
  // `registry` holds the copy kinds that remove_all hands the records to.
  Rehearsal(std::string run_id, std::string state_dir, const Registry& registry = builtin_registry());

  const std::string& run_id() const { return run_id_; }
  const std::string& state_dir() const { return state_dir_; }
  std::filesystem::path dir() const;           // <state>/rehearsals/<run id>
  std::vector<std::string> labels() const;     // "rollback.rehearsal=<id>", "rollback.state=<dir>"

  // While false (preflight) the calls below name what they would make and check what they
  // can, but make nothing.
  bool for_real = false;
  // Called once for each thing made, before it is made: the pipeline journals it as held.
  std::function<void(const nlohmann::json& resource)> made;

  // Records a copy about to be made, {"kind": <a registered CopyKind's name>, ...}: journaled
  // through `made`, removed by its kind in remove_all (or after a killed run).
  void record(const nlohmann::json& copy);
  // Creates dir() (recorded as kind "dir": removed last, with everything under it).
  Status make_dir();

  // Where a rehearsed step reads or writes `production` (a file or folder): inside the
  // rehearsal's copy of the folder holding it, copied from production on first use.
  Result<std::filesystem::path> mirror(ActionContext& ctx, const std::filesystem::path& production, bool is_dir);
  // The copy of `production` when a step already made one, else nullopt (read it as is).
  std::optional<std::filesystem::path> mirrored(const std::filesystem::path& production) const;

  // At preflight: a file a step will copy over production's (in the copy): `up`'s compose
  // file is then checked as it will be, before anything is restored.
  void plan_copy(const std::filesystem::path& production, const std::filesystem::path& from);
  std::optional<std::filesystem::path> planned_copy(const std::filesystem::path& production) const;

  // A published port an adapter moved (production -> the rehearsal's), and where one went.
  void moved_port(int production, int rehearsal);
  std::optional<int> port(int production) const;

  // The adapters' maps from production names to the copies' (what = "volume": a volume to
  // its copy; "project": a compose project to rbr-<run id>; "clone": a repository to its
  // clone), kept here so every adapter's copies live as long as the rehearsal.
  void map(std::string_view what, const std::string& production, std::string copy);
  std::optional<std::string> mapped(std::string_view what, const std::string& production) const;
  const std::map<std::string, std::string>& all_mapped(std::string_view what) const;

  // Restore-phase steps that ran against copies (planned: at preflight): none means
  // "nothing to rehearse".
  size_t restores = 0;
  size_t planned_restores = 0;
  size_t verifies = 0;  // verify-phase steps that ran against the copies

  // Values read from production: a read-only assess step runs as written, and the vars it
  // sets (`into:`) hold production's state, not the target's. A verify step that uses one
  // compares the copies with production, which a good but older target need not match: it
  // is skipped and named (production_comparisons, and the summary).
  void read_from_production(const std::string& step_id, const std::vector<std::string>& vars);
  // The production values `step` uses (in `with:` or `when:`), with the steps that read them:
  // "${instances_before} (step count-instances)". Empty when it uses none.
  std::vector<std::string> production_values_in(const plan::Step& step) const;
  std::set<std::string> production_comparisons;  // verify steps skipped for that reason

  // What was made and moved, for the report (report.json's extra.rehearsal): the label,
  // the dir, the ports, the restore steps, and what each copy kind adds.
  nlohmann::json summary() const;
  const std::vector<nlohmann::json>& made_so_far() const { return made_; }

  // Removes every copy of this run: each registered kind sweeps by label and removes its
  // records, then the rehearsal dir goes. Safe to call twice; never throws.
  void remove_all(proc::Runner& runner, const std::function<void(std::string_view)>& log);

 private:
  std::string run_id_, state_dir_;
  const Registry& registry_;
  std::set<std::filesystem::path> copied_;           // production folders copied
  std::map<std::filesystem::path, std::filesystem::path> mirrors_;
  std::map<std::filesystem::path, std::filesystem::path> planned_;  // production file -> its source
  std::map<int, int> ports_;                          // production -> rehearsal
  std::map<std::string, std::map<std::string, std::string>, std::less<>> mapped_;
  std::vector<nlohmann::json> made_;                  // what remove_all removes
  std::map<std::string, std::string> from_production_;  // var -> the assess step that set it
  bool dir_made_ = false;
};

// A name for a copy, from text (a run id, a production name): lower case, [a-z0-9_.-],
// anything else becomes `other` (docker's and PostgreSQL's names take these).
std::string rehearsal_name(std::string_view text, char other = '-');

// Removes `path` when it is under <state_dir>/rehearsals (never anything else), and says so.
void remove_rehearsal_path(const std::filesystem::path& path, const std::string& state_dir,
                           const std::function<void(std::string_view)>& log);

// Helpers for an action's `rehearse` behaviour.
// `p` with `key` replaced.
Params with_param(const Params& p, const std::string& key, nlohmann::json value);
// Runs the step as written (it reads only what the rehearsal does not change).
Result<Rehearsed> rehearse_as_is(Rehearsal& rehearsal, ActionContext& ctx, const Params& p);
// Always skips the step, saying why (a backup, a notification, production's containers).
RehearseFn not_rehearsed(std::string why);

// How a rehearsal treats one step: backup, stop and notify steps are skipped (production is
// left as it is); read-only assess steps run as written (they only look at production); a
// verify step comparing with what they read is skipped (Rehearsal::production_values_in);
// every other step as its action's `rehearse` says, or skipped with a note when it has none.
Result<Rehearsed> rehearse_step(Rehearsal& rehearsal, const plan::Step& step, const Action& action,
                                ActionContext& ctx, const Params& params);

// Removes rehearsal leftovers: the resources in `ctx.held` (journaled by a run that died),
// each by its registered copy kind; every kind's sweep (by label, of ctx.run_id or, when it
// is empty, of any rehearsal of the state dir); and every rehearsal dir under the state
// dir. The pipeline calls it at each run's start, holding the lock.
void clean_up_rehearsals_with(const Registry& registry, CleanupContext& ctx);
void clean_up_rehearsals(CleanupContext& ctx);  // with builtin_registry()'s copy kinds

}  // namespace rollback::actions
