// The git adapter: `git.revert`, `git.current` and the `from: git` target source. Git runs
// as the `git` program through proc::Runner (argv only), so the user's SSH keys, credential
// helpers and config apply exactly as on their own terminal.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <rollback/actions/action.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/proc/runner.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions::git {

struct Commit {
  std::string sha;      // full
  std::string subject;
  std::chrono::system_clock::time_point date{};
  std::string short_sha() const { return sha.substr(0, 12); }
};

// Runs `git -C repo args...` non-interactively (no terminal prompts, C locale). Fails only
// when git could not be started; a non-zero exit is a Completed with that code.
Result<proc::Completed> run(proc::Runner& runner, const std::string& repo,
                            std::vector<std::string> args, Millis timeout = Millis(60000));

// The commit `rev` names (`git rev-parse --verify rev^{commit}` plus its subject and date).
// The error says that `rev` is not a commit of `repo`.
Result<Commit> resolve(proc::Runner& runner, const std::string& repo, const std::string& rev);

// Targets for `from: git`: the newest `limit` commits of `ref` (default HEAD), or, when
// `tags` is a glob such as "v*", the matching tags by creation date; newest first, the one
// HEAD points at marked current. name = 12-char sha or tag, detail = subject.
Result<std::vector<plan::Target>> list_targets(proc::Runner& runner, const std::string& repo,
                                               const std::string& ref, const std::string& tags,
                                               int limit = 50);

// The same for a plan's `target: {from: git, with: {repo, ref, tags, limit}}` section.
Result<std::vector<plan::Target>> list_from_spec(const plan::TargetSpec& spec, const plan::Scope& scope);

// What a `git push --porcelain` to branch `branch` did to the remote (git_push.cpp): Pushed;
// Refused when git says the ref did not move or the push never reached the remote (refused
// connection, unknown host, access denied, a rejected or remote-rejected ref); Unknown when it
// may have landed (killed at a deadline or interrupted, the connection broke after sending,
// a failure git does not explain). `reason` says which, in a few words.
enum class PushResult { Pushed, Refused, Unknown };
struct PushVerdict {
  PushResult result;
  std::string reason;
};
PushVerdict classify_push(const proc::Completed& done, const std::string& branch);
// The failure of a push whose result is Unknown: what is unknown, and the `git ls-remote` that
// tells (data: failure_left_changes, check; pushed: "unknown"). The local branch is left at
// `pushed`.
struct PushAttempt {
  std::string repo, remote, branch;
  std::string pushed;  // the commit pushed
  std::string lease;   // the remote's tip before
};
Outcome push_left_unknown(const PushAttempt& push, const PushVerdict& verdict,
                          const proc::Completed& done);

// The lease the last preflight of (repo, remote, branch) saw, shared by preflight and run of
// the same process; empty when no preflight ran (e.g. under `resume`).
void remember_lease(const std::string& key, const std::string& sha);
std::string recalled_lease(const std::string& key);

// How git.revert rehearses (git_rehearse.cpp; actions/rehearsal.hpp): a local clone of the
// work tree `repo` under the rehearsal dir, made once (at preflight: only its path).
Result<std::filesystem::path> rehearsal_clone(Rehearsal& r, ActionContext& ctx, const std::string& repo);
// Kind "clone": the clones, removed by their records (registered by
// register_git_coolify_actions).
CopyKind rehearsal_clones();
// git.revert: on the clone, its push dropped (a rehearsal never pushes).
Result<Rehearsed> rehearse_revert(Rehearsal& r, ActionContext& ctx, const Params& p);

Action revert_action();   // git.revert
Action current_action();  // git.current

}  // namespace rollback::actions::git
