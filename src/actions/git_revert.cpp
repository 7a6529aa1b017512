// git.revert: put a branch back at a known-good commit, locally and on its remote.
// Safety rules (shared/field-lessons.md 5): every check runs before the first change; a reset
// is pushed only with --force-with-lease against the tip seen at preflight (never a bare -f),
// so a colleague's push made in the meantime is never overwritten; when a push is refused the
// local branch is put back where it was, so local and remote never disagree silently; a push
// whose result is unknown says so and how to find out (git_push.cpp).
#include <rollback/util/text.hpp>
#include <rollback/actions/git.hpp>

#include <filesystem>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>

namespace rollback::actions::git {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  return nonempty_lines(text);
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
  std::string remote_tip;  // the branch's tip on the remote, just fetched
  std::string lease_key() const { return repo + "\n" + remote + "\n" + branch; }
  std::string where() const { return remote + "/" + branch; }
};

// Fetches the branch from the remote (updating refs/remotes/R/B) and returns its tip: the
// run decides what to replace from what the remote holds now, not from a remote-tracking
// ref a background fetch may or may not have moved.
Result<std::string> fetch_tip(ActionContext& ctx, const std::string& repo, const std::string& remote,
                              const std::string& branch) {
  auto tracking = fmt::format("refs/remotes/{}/{}", remote, branch);
  auto done = run(ctx.runner, repo, {"fetch", "--quiet", "--no-tags", remote, fmt::format("+refs/heads/{}:{}", branch, tracking)},
                  ctx.remaining(Millis(120000)));
  if (!done) return std::unexpected(done.error());
  if (!done->succeeded()) {
    auto why = trim(done->err).empty() ? done->outcome() : trim(done->err);
    if (why.find("couldn't find remote ref") != std::string::npos)
      return fail(fmt::format("remote '{}' has no branch '{}'", remote, branch));
    return fail(redact(fmt::format("cannot fetch {} from remote '{}' in {}: {}", branch, remote, repo, why)), true);
  }
  auto tip = run(ctx.runner, repo, {"rev-parse", "--verify", "--quiet", tracking + "^{commit}"});
  if (!tip) return std::unexpected(tip.error());
  if (!tip->succeeded()) return fail(fmt::format("remote '{}' has no branch '{}'", remote, branch));
  return trim(tip->out);
}

// "c6a1b2c3d4e5 hotfix: ...; ...": the commits in `range` (A..B), newest first, at most 5.
std::string commits_in(ActionContext& ctx, const std::string& repo, const std::string& range, size_t& count) {
  auto listed = run(ctx.runner, repo, {"log", "--format=%h %s", range, "--"});
  auto lines = listed && listed->succeeded() ? lines_of(listed->out) : std::vector<std::string>{};
  count = lines.size();
  std::string out;
  for (size_t i = 0; i < lines.size() && i < 5; ++i) out += (out.empty() ? "" : "; ") + lines[i];
  if (lines.size() > 5) out += fmt::format("; and {} more", lines.size() - 5);
  return out;
}

bool contains(ActionContext& ctx, const std::string& repo, const std::string& ancestor, const std::string& commit) {
  auto done = run(ctx.runner, repo, {"merge-base", "--is-ancestor", ancestor, commit});
  return done && done->exit_code == 0;
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
  if (auto deployed = p.str("deployed"); !deployed.empty()) {
    auto recorded = resolve(ctx.runner, s.repo, deployed);
    if (!recorded) return fail("with.deployed: " + recorded.error().message);
    if (!contains(ctx, s.repo, recorded->sha, s.from.sha))
      return fail(fmt::format("{} is at {} ({}), which does not contain {} ({}), the commit recorded as deployed; "
                              "the clone is behind or on another history: bring it to the deployed commit first. "
                              "Nothing was changed.",
                              s.repo, short_of(s.from.sha), s.from.subject, short_of(recorded->sha), recorded->subject));
  }
  if (s.push) {
    auto tip = fetch_tip(ctx, s.repo, s.remote, s.branch);
    if (!tip) return std::unexpected(tip.error());
    s.remote_tip = *tip;
  }
  return s;
}

// What the remote holds that the deployed commit (HEAD) does not: a colleague's push that a
// reset would erase. "" when there is none, or when the remote is already at the target
// (a rerun after the push).
std::string unseen_commits(ActionContext& ctx, const Prepared& s) {
  if (!s.push || s.remote_tip == s.from.sha || contains(ctx, s.repo, s.remote_tip, s.from.sha)) return "";
  if (s.mode == "reset" && s.remote_tip == s.to.sha) return "";
  size_t count = 0;
  auto listed = commits_in(ctx, s.repo, s.from.sha + ".." + s.remote_tip, count);
  return fmt::format("{} has {} commit(s) that the deployed commit {} ({}) does not contain: {}", s.where(), count,
                     short_of(s.from.sha), s.from.subject, listed);
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

// A reset would erase what the remote holds beyond the deployed commit; a revert keeps it
// when the clone is only behind (it fast-forwards first, then reverts on top).
std::string refusal(ActionContext& ctx, const Prepared& s) {
  auto unseen = unseen_commits(ctx, s);
  if (unseen.empty()) return "";
  if (s.mode == "revert" && contains(ctx, s.repo, s.from.sha, s.remote_tip)) return "";
  return unseen + (s.mode == "reset"
                       ? "; a reset would discard them. Nothing was changed: bring them into the deployed clone "
                         "(and redeploy) first, or roll back with `mode: revert`, which keeps them"
                       : "; the clone and the remote have diverged. Nothing was changed: reconcile them first");
}

Outcome preflight(ActionContext& ctx, const Params& p) {
  auto s = prepare(ctx, p);
  if (!s) return Outcome::failure(s.error().message, s.error().transient);
  if (auto refused = refusal(ctx, *s); !refused.empty()) return Outcome::failure(redact(refused));
  if (s->push) remember_lease(s->lease_key(), s->remote_tip);
  auto o = Outcome::success(fmt::format(
      "{} on {}: {} ({}) -> {} ({}){}", s->repo, s->branch, short_of(s->from.sha), s->from.subject,
      short_of(s->to.sha), s->to.subject,
      s->push ? fmt::format("; {} is at {}", s->where(), short_of(s->remote_tip)) : ""));
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
  // The lease is what this run saw and decided to replace: noted in the journal before the
  // push, so a resumed run leases on the same commit instead of on whatever is there now.
  std::string lease = ctx.notes.contains("lease") ? ctx.notes.at("lease") : "";
  if (lease.empty() && s.push) lease = recalled_lease(s.lease_key());
  if (lease.empty()) lease = s.remote_tip;  // no preflight in this process
  // A remote already at the target (a rerun after success) is not a moved remote.
  bool already_there = s.mode == "reset" && s.remote_tip == s.to.sha;
  if (s.push && lease != s.remote_tip && !already_there) {
    size_t count = 0;
    auto listed = commits_in(ctx, s.repo, lease + ".." + s.remote_tip, count);
    auto o = Outcome::failure(redact(fmt::format(
        "{} moved since preflight: expected {}, found {}; nothing was pushed and nothing was changed{}", s.where(),
        short_of(lease), short_of(s.remote_tip), count ? " (new there: " + listed + ")" : "")));
    record(ctx, o, s);
    return o;
  }
  if (auto refused = refusal(ctx, s); !refused.empty() && !already_there) {
    auto o = Outcome::failure(redact(refused));
    record(ctx, o, s);
    return o;
  }
  if (s.push && ctx.note) ctx.note("lease", lease);
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
    // Behind the remote: take its commits first, then undo only the deployed range on top.
    if (s.push && s.remote_tip != s.from.sha && !contains(ctx, s.repo, s.remote_tip, s.from.sha)) {
      log(fmt::format("git -C {} merge --ff-only {}", s.repo, short_of(s.remote_tip)));
      auto ff = run(ctx.runner, s.repo, {"merge", "--ff-only", "--quiet", s.remote_tip});
      if (!ff || !ff->succeeded()) return fail_with("git merge --ff-only failed: " + (ff ? trim(ff->err) : ff.error().message));
    }
    auto range = s.to.sha + ".." + s.from.sha;
    log(fmt::format("git -C {} revert --no-edit {}..{}", s.repo, short_of(s.to.sha), short_of(s.from.sha)));
    auto revert = run(ctx.runner, s.repo, {"revert", "--no-edit", range});
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
    // git that could not start sent nothing.
    auto verdict = push ? classify_push(*push, s.branch)
                        : PushVerdict{PushResult::Refused, push.error().message};
    if (verdict.result == PushResult::Unknown) {
      auto o =
          push_left_unknown({s.repo, s.remote, s.branch, pushed_ref_sha, lease}, verdict, *push);
      record(ctx, o, s);
      return o;
    }
    if (verdict.result == PushResult::Refused) {
      auto left = restore_local(ctx, s);
      if (auto now = fetch_tip(ctx, s.repo, s.remote, s.branch); now && *now != lease)
        return fail_with(fmt::format("{}/{} moved since preflight: expected {}, found {}; nothing was pushed; {}",
                                     s.remote, s.branch, short_of(lease), short_of(*now), left));
      return fail_with(fmt::format("git push to {}/{} failed; nothing was pushed ({}); {}:\n{}",
                                   s.remote, s.branch, verdict.reason, left,
                                   push ? trim(push->err + "\n" + push->out) : ""));
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
                    : mode == "reset" ? fmt::format("; fetch, then push to {} with --force-with-lease on the remote tip, "
                                                    "refused when it holds commits the deployed one does not", remote)
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
  a.params = {param("repo").required().names(plan::Names::Path)
                  .doc("the git work tree; it must be clean and on a branch"),
              param("to").required().names(plan::Names::Identifier)
                  .doc("the commit, tag or HEAD~N to put the branch back at"),
              param("mode").choices({"reset", "revert"})
                  .doc("reset --hard to it, or revert the commits after it (default reset)"),
              param("push", ParamType::Any)
                  .doc("push after: true (origin) or {remote, branch}; a reset pushes with a lease (default false)"),
              param("branch").names(plan::Names::Identifier)
                  .doc("the branch that must be checked out; another one is refused"),
              param("deployed")
                  .doc("the commit recorded as deployed; refused unless the work tree's HEAD contains it")};
  a.destructive = true;
  // A reset already pushed makes a rerun a no-op, but a rerun after a crash between reset
  // and push must not be taken blindly: let the operator decide.
  a.rerun_safe = false;
  a.validate = validate;
  a.describe = describe;
  a.preflight = preflight;
  a.run = run_step;
  a.rehearse = rehearse_revert;
  return a;
}

}  // namespace rollback::actions::git
