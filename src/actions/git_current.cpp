// git.current (read-only: records which commit a work tree is at, e.g. before a deploy) and
// the `from: git` target source.
#include <rollback/actions/git.hpp>

#include <fmt/format.h>

#include <rollback/actions/rehearsal.hpp>
#include <rollback/plan/interpolate.hpp>

namespace rollback::actions::git {
namespace {

Outcome current(ActionContext& ctx, const Params& p) {
  auto head = resolve(ctx.runner, p.str("repo"), p.str("rev", "HEAD"));
  if (!head) return Outcome::failure("with.repo: " + head.error().message);
  auto into = p.str("into");
  if (!into.empty() && ctx.set_var) ctx.set_var(into, head->sha);
  auto o = Outcome::success(fmt::format("{} is at {} ({})", p.str("repo"), head->short_sha(), head->subject));
  o.observations.push_back({"commit", head->short_sha() + " " + head->subject, true});
  o.data["commit"] = head->sha;
  o.data["subject"] = head->subject;
  return o;
}

}  // namespace

Action current_action() {
  Action a;
  a.name = "git.current";
  a.summary = "read the commit a git work tree is at (into a var)";
  a.params = {param("repo").required().names(plan::Names::Path).doc("the git work tree to read"),
              param("rev").doc("the revision to resolve (default HEAD)"),
              param("into").sets_var().doc("sets this var to the full commit sha")};
  a.read_only = true;
  a.describe = [](const Params& p) {
    return fmt::format("read {} of {}{}", p.str("rev", "HEAD"), p.str("repo"),
                       p.has("into") ? " into ${" + p.str("into") + "}" : "");
  };
  a.preflight = current;
  a.run = current;
  a.rehearse = rehearse_as_is;  // it only reads the work tree
  return a;
}

// The schema of `target: {from: git, with: ...}`, so its ${vars} resolve like a step's.
Action target_schema() {
  Action a;
  a.name = "target.git";
  a.params = {param("repo").required().names(plan::Names::Path)
                  .doc("the git work tree whose commits or tags are the targets"),
              param("ref").names(plan::Names::Identifier)
                  .doc("list the commits of this ref, newest first (default HEAD)"),
              param("tags").doc("list the tags matching this pattern under refs/tags/ instead of commits"),
              param("limit", ParamType::Int).doc("how many commits or tags to list at most (default 50)")};
  return a;
}

Result<std::vector<plan::Target>> list_from_spec(const plan::TargetSpec& spec, const plan::Scope& scope) {
  static const Action schema = target_schema();
  auto params = plan::resolve_params(spec.with, scope, schema.params);
  if (!params) return fail("target.with: " + params.error().message);
  if (params->str("repo").empty()) return fail("target.with.repo: required for from: git");
  proc::SystemRunner runner;
  return list_targets(runner, params->str("repo"), params->str("ref"), params->str("tags"),
                      static_cast<int>(params->integer("limit", 50)));
}

}  // namespace rollback::actions::git
