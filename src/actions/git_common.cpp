// Running git and reading its answers: shared by git.revert, git.current and the
// `from: git` target source.
#include <rollback/util/text.hpp>
#include <rollback/actions/git.hpp>

#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>

namespace rollback::actions::git {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

std::chrono::system_clock::time_point from_unix(const std::string& text) {
  try {
    return std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(text)));
  } catch (...) {
    return {};
  }
}

std::mutex& lease_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, std::string>& leases() {
  static std::map<std::string, std::string> l;
  return l;
}

}  // namespace

Result<proc::Completed> run(proc::Runner& runner, const std::string& repo,
                            std::vector<std::string> args, Millis timeout) {
  proc::Command command;
  command.argv = {"git", "-C", repo};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  // An unattended rollback must never hang on a password or host-key prompt; the messages
  // are parsed in places, so they must be in English.
  command.env["GIT_TERMINAL_PROMPT"] = "0";
  command.env["LC_ALL"] = "C";
  command.env["GIT_EDITOR"] = "true";
  command.timeout = timeout;
  auto done = runner.run(command);
  if (!done) return fail(redact("cannot run git: " + done.error().message));
  return done;
}

Result<Commit> resolve(proc::Runner& runner, const std::string& repo, const std::string& rev) {
  // A revision starting with '-' would be read as an option.
  if (rev.empty() || rev.front() == '-') {
    return fail(fmt::format("'{}' is not a revision (expected a commit, tag or HEAD~N)", rev));
  }
  auto done = run(runner, repo, {"rev-parse", "--verify", "--quiet", rev + "^{commit}"});
  if (!done) return std::unexpected(done.error());
  if (!done->succeeded()) {
    return fail(redact(fmt::format("'{}' does not name a commit in {} (git rev-parse: {})", rev,
                                   repo, trim(done->err).empty() ? done->outcome() : trim(done->err))));
  }
  Commit commit;
  commit.sha = trim(done->out);
  auto shown = run(runner, repo, {"show", "-s", "--format=%ct%x1f%s", commit.sha});
  if (shown && shown->succeeded()) {
    auto fields = split(trim(shown->out), '\x1f');
    if (!fields.empty()) commit.date = from_unix(fields[0]);
    if (fields.size() > 1) commit.subject = fields[1];
  }
  return commit;
}

Result<std::vector<plan::Target>> list_targets(proc::Runner& runner, const std::string& repo,
                                               const std::string& ref, const std::string& tags,
                                               int limit) {
  auto head = resolve(runner, repo, "HEAD");
  if (!head) return std::unexpected(head.error());
  std::vector<plan::Target> out;
  if (!tags.empty()) {
    auto done = run(runner, repo,
                    {"for-each-ref", "--sort=-creatordate", fmt::format("--count={}", limit),
                     "--format=%(refname:short)%1f%(objectname)%1f%(*objectname)%1f"
                     "%(creatordate:unix)%1f%(contents:subject)",
                     "refs/tags/" + tags});
    if (!done) return std::unexpected(done.error());
    if (!done->succeeded()) return fail(redact("git for-each-ref failed in " + repo + ": " + trim(done->err)));
    for (const auto& line : split(done->out, '\n')) {
      auto f = split(line, '\x1f');
      if (f.size() < 4) continue;
      plan::Target t;
      t.name = f[0];
      // An annotated tag's object is the tag itself; the commit is the peeled object.
      const std::string& commit = f[2].empty() ? f[1] : f[2];
      t.created = from_unix(f[3]);
      t.detail = f.size() > 4 ? f[4] : "";
      t.current = commit == head->sha;
      t.commit = commit;
      out.push_back(std::move(t));
    }
    return out;
  }
  std::string rev = ref.empty() ? "HEAD" : ref;
  if (rev.front() == '-') return fail(fmt::format("'{}' is not a ref", rev));
  auto done = run(runner, repo,
                  {"log", fmt::format("--max-count={}", limit), "--format=%H%x1f%ct%x1f%s", rev, "--"});
  if (!done) return std::unexpected(done.error());
  if (!done->succeeded()) {
    return fail(redact(fmt::format("cannot list the commits of '{}' in {}: {}", rev, repo, trim(done->err))));
  }
  for (const auto& line : split(done->out, '\n')) {
    auto f = split(line, '\x1f');
    if (f.size() < 2) continue;
    plan::Target t;
    t.name = f[0].substr(0, 12);
    t.created = from_unix(f[1]);
    t.detail = f.size() > 2 ? f[2] : "";
    t.current = f[0] == head->sha;
    t.commit = f[0];
    out.push_back(std::move(t));
  }
  return out;
}

void remember_lease(const std::string& key, const std::string& sha) {
  std::lock_guard lock(lease_mutex());
  leases()[key] = sha;
}

std::string recalled_lease(const std::string& key) {
  std::lock_guard lock(lease_mutex());
  auto it = leases().find(key);
  return it == leases().end() ? "" : it->second;
}

}  // namespace rollback::actions::git
