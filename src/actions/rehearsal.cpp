// The generic part of a rehearsal (include/rollback/actions/rehearsal.hpp): labels, the
// mirror of folders and ports, the record of copies and its removal through the registered
// copy kinds, the summary, and how a step is rehearsed. It names no adapter.
#include <rollback/actions/rehearsal.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>

#include <rollback/actions/output.hpp>
#include <rollback/plan/interpolate.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions {
namespace {
namespace fs = std::filesystem;

fs::path absolute_path(const fs::path& p) {
  std::error_code ec;
  auto abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal();
}

bool under(const fs::path& path, const fs::path& folder) {
  auto rel = path.lexically_relative(folder);
  return !rel.empty() && *rel.begin() != "..";
}

// The names of the vars a step sets (`into: x` and the like: the params that name a var).
std::vector<std::string> vars_set_by(const Action& action, const Params& params) {
  std::vector<std::string> vars;
  for (const auto& spec : action.params)
    if (spec.sets_var && params.has(spec.name)) vars.push_back(params.str(spec.name));
  return vars;
}

// Every `${...}` reference in a `with:` tree.
void references_in(const YAML::Node& node, std::set<std::string>& out) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (node.IsScalar()) {
    if (auto refs = plan::references(node.Scalar())) out.insert(refs->begin(), refs->end());
    return;
  }
  for (const auto& item : node) references_in(node.IsMap() ? item.second : item, out);
}

// Every record of `kind` among `records`, newest first.
void remove_records(const CopyKind& kind, const std::vector<nlohmann::json>& records, CleanupContext& ctx) {
  if (!kind.remove) return;
  for (auto it = records.rbegin(); it != records.rend(); ++it)
    if (it->value("kind", "") == kind.name) kind.remove(*it, ctx);
}

}  // namespace

std::string rehearsal_name(std::string_view text, char other) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : (c == '_' || c == '.' || c == '-' ? c : other));
  }
  return out;
}

void remove_rehearsal_path(const fs::path& path, const std::string& state_dir,
                           const std::function<void(std::string_view)>& log) {
  // Only ever a path under <state>/rehearsals/.
  if (!under(absolute_path(path), absolute_path(fs::path(state_dir) / "rehearsals"))) return;
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  fs::remove_all(path, ec);
  if (log) log(ec ? fmt::format("could not remove {}: {}", path.string(), ec.message())
                  : fmt::format("removed {}", path.string()));
}

Params with_param(const Params& p, const std::string& key, nlohmann::json value) {
  auto all = p.all();
  all[key] = std::move(value);
  return Params(all);
}

Result<Rehearsed> rehearse_as_is(Rehearsal&, ActionContext&, const Params& p) { return Rehearsed::run(p); }

RehearseFn not_rehearsed(std::string why) {
  return [why = std::move(why)](Rehearsal&, ActionContext&, const Params&) -> Result<Rehearsed> {
    return Rehearsed::skip(why);
  };
}

Rehearsal::Rehearsal(std::string run_id, std::string state_dir, const Registry& registry)
    : run_id_(std::move(run_id)), state_dir_(std::move(state_dir)), registry_(registry) {}

fs::path Rehearsal::dir() const { return fs::path(state_dir_) / "rehearsals" / run_id_; }

std::vector<std::string> Rehearsal::labels() const {
  return {fmt::format("{}={}", kRehearsalLabel, run_id_), fmt::format("{}={}", kRehearsalStateLabel, state_dir_)};
}

void Rehearsal::record(const nlohmann::json& copy) {
  made_.push_back(copy);
  if (made) made(copy);
}

Status Rehearsal::make_dir() {
  if (dir_made_) return ok();
  record({{"kind", "dir"}, {"path", dir().string()}});
  RB_TRY(make_private_dirs(dir()));
  dir_made_ = true;
  return ok();
}

Result<fs::path> Rehearsal::mirror(ActionContext& ctx, const fs::path& production, bool is_dir) {
  fs::path prod = absolute_path(production);
  fs::path folder = is_dir ? prod : prod.parent_path();
  fs::path root = dir() / "fs";
  fs::path copy = root / prod.relative_path();
  if (!for_real) return copy;
  RB_TRY(make_dir());
  bool inside_a_copy = false;
  for (const auto& done : copied_) inside_a_copy = inside_a_copy || done == folder || under(folder, done);
  fs::path folder_copy = root / folder.relative_path();
  std::error_code ec;
  fs::create_directories(folder_copy, ec);
  if (ec) return fail(fmt::format("cannot create {}: {}", folder_copy.string(), ec.message()));
  if (!inside_a_copy && fs::is_directory(folder, ec)) {
    // -n: what a rehearsed step already wrote into the copy (a restored file) stays.
    if (ctx.log) ctx.log(fmt::format("copying {} to {} (the rehearsal's copy)", folder.string(), folder_copy.string()));
    proc::Command cp;
    cp.argv = {"cp", "-a", "-n", "--", folder.string() + "/.", folder_copy.string() + "/"};
    cp.timeout = ctx.remaining(Millis(0));
    auto done = ctx.runner.run(cp);
    if (!done || !done->succeeded())
      return fail(fmt::format("cannot copy {} for the rehearsal: {}", folder.string(),
                              done ? last_error_line(*done) : done.error().message));
    copied_.insert(folder);
  }
  mirrors_[prod] = copy;
  return copy;
}

std::optional<fs::path> Rehearsal::mirrored(const fs::path& production) const {
  fs::path prod = absolute_path(production);
  for (const auto& folder : copied_)
    if (folder == prod || under(prod, folder)) return dir() / "fs" / prod.relative_path();
  if (auto it = mirrors_.find(prod); it != mirrors_.end()) return it->second;
  return std::nullopt;
}

void Rehearsal::plan_copy(const fs::path& production, const fs::path& from) {
  planned_[absolute_path(production)] = absolute_path(from);
}

std::optional<fs::path> Rehearsal::planned_copy(const fs::path& production) const {
  auto it = planned_.find(absolute_path(production));
  if (it == planned_.end()) return std::nullopt;
  return it->second;
}

void Rehearsal::read_from_production(const std::string& step_id,
                                     const std::vector<std::string>& vars) {
  for (const auto& var : vars) from_production_[var] = step_id;
}

std::vector<std::string> Rehearsal::production_values_in(const plan::Step& step) const {
  std::set<std::string> used;
  references_in(step.with, used);
  if (step.when.find("${") != std::string::npos) {
    if (auto refs = plan::references(step.when)) used.insert(refs->begin(), refs->end());
  } else if (!step.when.empty()) {
    used.insert(std::string(trim(step.when)));
  }
  std::vector<std::string> values;
  for (const auto& var : used)
    if (auto it = from_production_.find(var); it != from_production_.end())
      values.push_back(fmt::format("${{{}}} (step {})", var, it->second));
  return values;
}

void Rehearsal::moved_port(int production, int rehearsal) { ports_[production] = rehearsal; }

std::optional<int> Rehearsal::port(int production) const {
  auto it = ports_.find(production);
  if (it == ports_.end()) return std::nullopt;
  return it->second;
}

void Rehearsal::map(std::string_view what, const std::string& production, std::string copy) {
  auto it = mapped_.find(what);
  if (it == mapped_.end()) it = mapped_.emplace(std::string(what), std::map<std::string, std::string>()).first;
  it->second[production] = std::move(copy);
}

std::optional<std::string> Rehearsal::mapped(std::string_view what, const std::string& production) const {
  const auto& all = all_mapped(what);
  auto it = all.find(production);
  if (it == all.end()) return std::nullopt;
  return it->second;
}

const std::map<std::string, std::string>& Rehearsal::all_mapped(std::string_view what) const {
  static const std::map<std::string, std::string> none;
  auto it = mapped_.find(what);
  return it == mapped_.end() ? none : it->second;
}

nlohmann::json Rehearsal::summary() const {
  nlohmann::json ports = nlohmann::json::object();
  for (const auto& [prod, moved] : ports_) ports[std::to_string(prod)] = moved;
  nlohmann::json out{{"label", fmt::format("{}={}", kRehearsalLabel, run_id_)}, {"dir", dir().string()},
                     {"ports", ports}, {"restore_steps_rehearsed", restores}};
  // Named, so that a verdict of "proved" says which checks it did not make.
  if (!production_comparisons.empty())
    out["skipped_production_comparisons"] = production_comparisons;
  for (const auto& kind : registry_.copy_kinds())
    if (kind.summarize) kind.summarize(*this, out);
  return out;
}

void Rehearsal::remove_all(proc::Runner& runner, const std::function<void(std::string_view)>& log) {
  CleanupContext ctx{.runner = runner, .state_dir = state_dir_, .run_id = run_id_, .held = made_, .log = log};
  for (const auto& kind : registry_.copy_kinds()) {
    if (kind.sweep) kind.sweep(ctx);
    remove_records(kind, made_, ctx);
  }
  remove_rehearsal_path(dir(), state_dir_, log);
}

void clean_up_rehearsals_with(const Registry& registry, CleanupContext& ctx) {
  if (ctx.state_dir.empty()) return;
  for (const auto& kind : registry.copy_kinds()) {
    if (kind.sweep) kind.sweep(ctx);
    remove_records(kind, ctx.held, ctx);
  }
  fs::path root = fs::path(ctx.state_dir) / "rehearsals";
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (ctx.run_id.empty() || it->path().filename() == ctx.run_id)
      remove_rehearsal_path(it->path(), ctx.state_dir, ctx.log);
}

void clean_up_rehearsals(CleanupContext& ctx) { clean_up_rehearsals_with(builtin_registry(), ctx); }

Result<Rehearsed> rehearse_step(Rehearsal& rehearsal, const plan::Step& step, const Action& action,
                                ActionContext& ctx, const Params& params) {
  const plan::Phase phase = step.phase;
  switch (phase) {
    case plan::Phase::Backup:
    case plan::Phase::Stop:
    case plan::Phase::Notify:
      return Rehearsed::skip(fmt::format("not rehearsed: a {} step (production is left as it is)", plan::to_string(phase)));
    case plan::Phase::Assess:
      if (action.reads_only(step.with)) {
        rehearsal.read_from_production(step.id, vars_set_by(action, params));
        return Rehearsed::run(params, "looks at production, read-only");
      }
      break;
    default:
      break;
  }
  if (phase == plan::Phase::Verify)
    if (auto values = rehearsal.production_values_in(step); !values.empty()) {
      rehearsal.production_comparisons.insert(step.id);
      return Rehearsed::skip(
          fmt::format("not rehearsed: it compares the copies with {}, read from production, "
                      "which an older target need not match",
                      fmt::join(values, ", ")));
    }
  if (!action.rehearse) return Rehearsed::skip(fmt::format("not rehearsed: {} cannot run against copies", action.name));
  // A check with nothing of the target's restored before it would look at production, or
  // at an empty scratch copy: neither proves the target (the verdict is then exit 4).
  if (phase == plan::Phase::Verify && (rehearsal.for_real ? rehearsal.restores : rehearsal.planned_restores) == 0)
    return Rehearsed::skip("not rehearsed: no restore step ran against copies before it, so it has nothing of the "
                           "target's to check");
  auto rehearsed = action.rehearse(rehearsal, ctx, params);
  if (rehearsed && rehearsed->kind == Rehearsed::Kind::Run && phase == plan::Phase::Restore)
    ++(rehearsal.for_real ? rehearsal.restores : rehearsal.planned_restores);
  if (rehearsed && rehearsed->kind == Rehearsed::Kind::Run && phase == plan::Phase::Verify && rehearsal.for_real)
    ++rehearsal.verifies;
  return rehearsed;
}

}  // namespace rollback::actions
