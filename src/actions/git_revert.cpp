// git.revert: put a branch back at a known-good commit, locally and on its remote.
// Safety rules (shared/field-lessons.md 5): every check runs before the first change; a reset
// is pushed only with --force-with-lease against the tip seen at preflight (never a bare -f),
// so a colleague's push made in the meantime is never overwritten; when a push fails the
// local branch is put back where it was, so local and remote never disagree silently.
#include <rollback/util/text.hpp>
#include <rollback/actions/git.hpp>

#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>

namespace rollback::actions::git {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!trim(line).empty()) out.push_back(trim(line));
  }
  return out;
}

std::string short_of(const std::string& sha) { return sha.substr(0, 12); }

struct Prepared {
  std::string repo;
  std::string mode;
  std::string branch;  // checked-out branch
  Commit from;         // HEAD now
  Commit to;
  bool push = false;
  std::string remote;
  std::string remote_tip;  // the branch's tip on the remote, now
  std::string lease_key() const { return repo + "\n" + remote + "\n" + branch; }
};

Result<std::string> remote_tip(ActionContext& ctx, const std::string& repo,
                               const std::string& remote, const std::string& branch) {
  auto done = run(ctx.runner, repo, {"ls-remote", "--exit-code", remote, "refs/heads/" + branch},
                  ctx.remaining(Millis(120000)));
  if (!done) return std::unexpected(done.error());
  if (done->exit_code == 2) {
    return fail(fmt::format("remote '{}' has no branch '{}' (git ls-remote found no refs/heads/{})",
                            remote, branch, branch));
  }
  if (!done->succeeded()) {
    return fail(redact(fmt::format("remote '{}' is not reachable from {}: {}", remote, repo,
                                   trim(done->err).empty() ? done->outcome() : trim(done->err))),
                true);
  }
  auto tip = trim(done->out);
  return tip.substr(0, tip.find_first_of(" \t"));
}

// Every read-only check of the step; preflight and run both start with it.
Result<Prepared> prepare(ActionContext& ctx, const Params& p) {
  Prepared s;
  s.repo = p.str("repo");
  s.mode = p.str("mode", "reset");
  if (s.mode != "reset" && s.mode != "revert") {
    return fail(fmt::format("with.mode: expected reset or revert, got '{}'", s.mode));
  }
  if (s.repo.empty() || !std::filesystem::is_directory(s.repo)) {
    return fail(fmt::format("with.repo: '{}' is not a directory", s.repo));
  }
  auto inside = run(ctx.runner, s.repo, {"rev-parse", "--is-inside-work-tree"});
  if (!inside) return std::unexpected(inside.error());
  if (!inside->succeeded() || trim(inside->out) != "true") {
    return fail(fmt::format("with.repo: '{}' is not a git work tree", s.repo));
  }
  auto status = run(ctx.runner, s.repo, {"status", "--porcelain", "--untracked-files=normal"});
  if (!status) return std::unexpected(status.error());
  auto dirty = lines_of(status->out);
  if (!status->succeeded()) return fail("git status failed in " + s.repo + ": " + trim(status->err));
  if (!dirty.empty()) {
    std::string listed;
    for (size_t i = 0; i < dirty.size() && i < 10; ++i) listed += "\n  " + dirty[i];
    if (dirty.size() > 10) listed += fmt::format("\n  ... and {} more", dirty.size() - 10);
    return fail(fmt::format("the work tree {} has uncommitted changes; commit or stash them first "
                            "(nothing was changed):{}", s.repo, listed));
  }
  auto branch = run(ctx.runner, s.repo, {"symbolic-ref", "--quiet", "--short", "HEAD"});
  if (!branch) return std::unexpected(branch.error());
  s.branch = branch->succeeded() ? trim(branch->out) : "";

  const auto& push = p.raw("push");
  std::string wanted_branch = p.str("branch");
  if (push.is_object()) {
    s.push = true;
    s.remote = push.value("remote", "origin");
    if (push.contains("branch") && wanted_branch.empty()) wanted_branch = push["branch"].get<std::string>();
  } else {
    s.push = p.flag("push", false);
    s.remote = "origin";
  }
  if (!wanted_branch.empty() && wanted_branch != s.branch) {
    return fail(fmt::format("{} has '{}' checked out, the step names branch '{}'; check it out first",
                            s.repo, s.branch.empty() ? "a detached HEAD" : s.branch, wanted_branch));
  }
  if (s.branch.empty()) {
    return fail(fmt::format("{} is on a detached HEAD; check out the branch to roll back", s.repo));
  }
  auto from = resolve(ctx.runner, s.repo, "HEAD");
  if (!from) return std::unexpected(from.error());
  s.from = *from;
  auto to = resolve(ctx.runner, s.repo, p.str("to"));
  if (!to) return fail("with.to: " + to.error().message);
  s.to = *to;

  if (s.mode == "revert" && s.from.sha != s.to.sha) {
    auto ancestor = run(ctx.runner, s.repo, {"merge-base", "--is-ancestor", s.to.sha, "HEAD"});
    if (!ancestor) return std::unexpected(ancestor.error());
    if (ancestor->exit_code != 0) {
      return fail(fmt::format("with.to: {} is not an ancestor of HEAD ({}); mode revert undoes the "
                              "commits after it, so it must be one", short_of(s.to.sha), short_of(s.from.sha)));
    }
    auto merges = run(ctx.runner, s.repo, {"rev-list", "--merges", s.to.sha + "..HEAD"});
    if (!merges) return std::unexpected(merges.error());
    auto found = lines_of(merges->out);
    if (!found.empty()) {
      std::string listed;
      for (const auto& m : found) listed += " " + short_of(m);
      return fail(fmt::format("the commits after {} include merge commit(s){}: reverting a merge needs "
                              "a chosen parent; use mode: reset, or revert the merge by hand",
                              short_of(s.to.sha), listed));
    }
  }
  if (s.push) {
    auto tip = remote_tip(ctx, s.repo, s.remote, s.branch);
    if (!tip) return std::unexpected(tip.error());
    s.remote_tip = *tip;
  }
  return s;
}

void record(ActionContext& ctx, Outcome& o, const Prepared& s) {
  if (ctx.set_var) {
    // The report's "rolled back from / restored to": a sha alone means little at 3 a.m.
    ctx.set_var("from_version", short_of(s.from.sha) + " (" + s.from.subject + ")");
    ctx.set_var("to_version", short_of(s.to.sha) + " (" + s.to.subject + ")");
  }
  o.observations.push_back({"from", short_of(s.from.sha) + " " + s.from.subject, true});
  o.observations.push_back({"to", short_of(s.to.sha) + " " + s.to.subject, true});
  o.data["repo"] = s.repo;
  o.data["mode"] = s.mode;
  o.data["branch"] = s.branch;
  o.data["from_commit"] = s.from.sha;
  o.data["from_subject"] = s.from.subject;
  o.data["to_commit"] = s.to.sha;
  o.data["to_subject"] = s.to.subject;
  if (s.push) {
    o.data["remote"] = s.remote;
    o.data["lease"] = s.remote_tip;
  }
}

Outcome preflight(ActionContext& ctx, const Params& p) {
  auto s = prepare(ctx, p);
  if (!s) return Outcome::failure(s.error().message, s.error().transient);
  if (s->push) remember_lease(s->lease_key(), s->remote_tip);
  auto o = Outcome::success(fmt::format(
      "{} on {}: {} ({}) -> {} ({}){}", s->repo, s->branch, short_of(s->from.sha), s->from.subject,
      short_of(s->to.sha), s->to.subject,
      s->push ? fmt::format("; {}/{} is at {}", s->remote, s->branch, short_of(s->remote_tip)) : ""));
  record(ctx, o, *s);
  return o;
}

// Puts the local branch back at `sha` after a failed push; says what happened.
std::string restore_local(ActionContext& ctx, const Prepared& s) {
  auto back = run(ctx.runner, s.repo, {"reset", "--hard", s.from.sha});
  if (back && back->succeeded()) return fmt::format("the local branch is back at {}", short_of(s.from.sha));
  return fmt::format("could NOT put the local branch back at {} (run `git -C {} reset --hard {}`)",
                     short_of(s.from.sha), s.repo, s.from.sha);
}

Outcome run_step(ActionContext& ctx, const Params& p) {
  auto prepared = prepare(ctx, p);
  if (!prepared) return Outcome::failure(prepared.error().message, prepared.error().transient);
  const Prepared& s = *prepared;
  std::string lease = s.push ? recalled_lease(s.lease_key()) : "";
  if (lease.empty()) lease = s.remote_tip;  // no preflight in this process (resume)
  // A remote already at the target (a rerun after success) is not a moved remote.
  bool already_there = s.mode == "reset" && s.remote_tip == s.to.sha;
  if (s.push && lease != s.remote_tip && !already_there) {
    auto o = Outcome::failure(fmt::format("{}/{} moved since preflight: expected {}, found {}; nothing was pushed "
                                          "and nothing was changed", s.remote, s.branch, short_of(lease),
                                          short_of(s.remote_tip)));
    record(ctx, o, s);
    return o;
  }
  auto log = [&](const std::string& line) { if (ctx.log) ctx.log(line); };
  auto fail_with = [&](std::string message) {
    auto o = Outcome::failure(redact(message));
    record(ctx, o, s);
    o.data["pushed"] = false;
    return o;
  };

  std::string pushed_ref_sha;
  if (s.mode == "reset") {
    if (s.from.sha != s.to.sha) {
      log(fmt::format("git -C {} reset --hard {}", s.repo, s.to.sha));
      auto reset = run(ctx.runner, s.repo, {"reset", "--hard", s.to.sha});
      if (!reset) return fail_with(reset.error().message);
      if (!reset->succeeded()) return fail_with("git reset --hard failed: " + trim(reset->err));
    }
    pushed_ref_sha = s.to.sha;
  } else if (s.from.sha != s.to.sha) {
    log(fmt::format("git -C {} revert --no-edit {}..HEAD", s.repo, short_of(s.to.sha)));
    auto revert = run(ctx.runner, s.repo, {"revert", "--no-edit", s.to.sha + "..HEAD"});
    if (!revert) return fail_with(revert.error().message);
    if (!revert->succeeded()) {
      run(ctx.runner, s.repo, {"revert", "--abort"});
      auto left = restore_local(ctx, s);
      return fail_with(fmt::format("git revert {}..HEAD failed ({}); {}:\n{}", short_of(s.to.sha),
                                   revert->outcome(), left, trim(revert->out + "\n" + revert->err)));
    }
  }
  auto head = resolve(ctx.runner, s.repo, "HEAD");
  if (!head) return fail_with(head.error().message);
  if (pushed_ref_sha.empty()) pushed_ref_sha = head->sha;

  bool pushed = false;
  if (s.push && s.remote_tip != pushed_ref_sha) {
    std::vector<std::string> args{"push", "--porcelain"};
    // reset rewrites history: only with a lease on the tip seen at preflight, never -f.
    if (s.mode == "reset") args.push_back(fmt::format("--force-with-lease=refs/heads/{}:{}", s.branch, lease));
    args.push_back(s.remote);
    args.push_back(fmt::format("{}:refs/heads/{}", pushed_ref_sha, s.branch));
    log(fmt::format("git -C {} push {}{} {}/{}", s.repo,
                    s.mode == "reset" ? "--force-with-lease=" + s.branch + ":" + short_of(lease) + " " : "",
                    short_of(pushed_ref_sha), s.remote, s.branch));
    auto push = run(ctx.runner, s.repo, args, ctx.remaining(Millis(300000)));
    if (!push || !push->succeeded()) {
      std::string why = push ? trim(push->err + "\n" + push->out) : push.error().message;
      auto left = restore_local(ctx, s);
      auto now = remote_tip(ctx, s.repo, s.remote, s.branch);
      if (now && *now != lease) {
        return fail_with(fmt::format("{}/{} moved since preflight: expected {}, found {}; nothing was pushed; {}",
                                     s.remote, s.branch, short_of(lease), short_of(*now), left));
      }
      return fail_with(fmt::format("git push to {}/{} failed; nothing was pushed; {}:\n{}", s.remote,
                                   s.branch, left, why));
    }
    pushed = true;
    remember_lease(s.lease_key(), pushed_ref_sha);
  }
  auto o = Outcome::success(fmt::format(
      "{} {} -> {} ({}){}", s.mode == "reset" ? "reset" : "reverted", short_of(s.from.sha),
      short_of(s.to.sha), s.to.subject,
      pushed ? fmt::format("; pushed to {}/{}", s.remote, s.branch)
             : (s.push ? fmt::format("; {}/{} already there", s.remote, s.branch) : "; not pushed")));
  record(ctx, o, s);
  o.data["pushed"] = pushed;
  o.data["new_head"] = head->sha;
  o.observations.push_back({"pushed", pushed ? "yes" : "no", true});
  return o;
}

std::string describe(const Params& p) {
  const auto& push = p.raw("push");
  bool pushing = push.is_object() || p.flag("push", false);
  std::string remote = push.is_object() ? push.value("remote", "origin") : "origin";
  std::string mode = p.str("mode", "reset");
  std::string what = mode == "reset" ? fmt::format("git reset --hard {}", p.str("to"))
                                     : fmt::format("git revert --no-edit {}..HEAD", p.str("to"));
  std::string how = !pushing ? "; no push"
                    : mode == "reset" ? fmt::format("; push to {} with --force-with-lease (tip seen at preflight)", remote)
                                      : fmt::format("; push to {}", remote);
  return fmt::format("in {}: {}{}", p.str("repo"), what, how);
}

void validate(ParamCheck& check) {
  if (auto to = check.literal("to"); to && (to->empty() || to->front() == '-')) {
    check.error("to", fmt::format("to: expected a commit, tag or HEAD~N, got '{}'", *to));
  }
  auto push = check.node("push");
  if (push.IsDefined() && push.IsMap()) {
    for (const auto& kv : push) {
      auto key = kv.first.as<std::string>();
      if (key != "remote" && key != "branch") {
        check.error("push", fmt::format("push: unknown key '{}' (expected remote, branch)", key));
      }
    }
  }
}

}  // namespace

Action revert_action() {
  Action a;
  a.name = "git.revert";
  a.summary = "put a git branch back at a commit (reset or revert) and push it with a lease";
  a.params = {param("repo").required().names(plan::Names::Path),
              param("to").required().names(plan::Names::Identifier),
              param("mode").choices({"reset", "revert"}),
              param("push", ParamType::Any),
              param("branch").names(plan::Names::Identifier)};
  a.destructive = true;
  // A reset already pushed makes a rerun a no-op, but a rerun after a crash between reset
  // and push must not be taken blindly: let the operator decide.
  a.rerun_safe = false;
  a.validate = validate;
  a.describe = describe;
  a.preflight = preflight;
  a.run = run_step;
  return a;
}

}  // namespace rollback::actions::git
