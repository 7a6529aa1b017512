// What a failed `git push --porcelain` did to the remote: nothing (it was refused before the
// ref could move), or unknown (the request may have been received whole and applied). Only
// what git says for sure counts as "nothing": anything else is unknown, so that nothing runs
// on top of a push that may have landed.
#include <rollback/actions/git.hpp>

#include <array>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::git {
namespace {

// Lost on the way: the connection broke while the pack was being sent or the answer read.
// Checked first: git prints some of the "before sending" words after these too.
constexpr std::array kLostOnTheWay = {
    "RPC failed",  // smart HTTP: the POST carrying the pack failed (curl error or HTTP status)
    "hung up unexpectedly",  // the connection closed after the ref advertisement
    "unexpected disconnect",
    "early EOF",
    "Connection reset",
    "Broken pipe",
};

// Refused before sending: git could not reach the remote or was not let in, so it never got
// as far as sending a pack or a ref update.
constexpr std::array kBeforeSending = {
    "Could not read from remote repository",  // connect.c: no ref advertisement was read
    "hung up upon initial contact",
    "unable to access",  // smart HTTP: the GET of info/refs failed
    "Could not resolve host",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Connection refused",
    "No route to host",
    "Network is unreachable",
    "does not appear to be a git repository",
    "Repository not found",
    "Authentication failed",
    "could not read Username",
    "could not read Password",
    "Permission denied (publickey",
    "Host key verification failed",
};

// The porcelain status line git printed for `ref` ("<flag>\t<from>:<to>\t<summary>"), if any.
std::optional<std::pair<char, std::string>> ref_status(const std::string& out,
                                                       const std::string& ref) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab != 1) continue;
    auto second = line.find('\t', tab + 1);
    auto refs =
        line.substr(tab + 1, second == std::string::npos ? std::string::npos : second - tab - 1);
    if (!refs.ends_with(":" + ref)) continue;
    return std::pair{line[0],
                     second == std::string::npos ? std::string() : trim(line.substr(second + 1))};
  }
  return std::nullopt;
}

bool says(const std::string& text, std::string_view words) {
  return text.find(words) != std::string::npos;
}

}  // namespace

PushVerdict classify_push(const proc::Completed& done, const std::string& branch) {
  if (done.succeeded()) return {PushResult::Pushed, "pushed"};
  if (done.timed_out)
    return {PushResult::Unknown, "git push was killed at the step's deadline, " + done.outcome()};
  if (done.cancelled)
    return {PushResult::Unknown, "git push was killed when the run was interrupted"};
  if (done.exit_code < 0) return {PushResult::Unknown, "git push was " + done.outcome()};
  // The remote's own word on the ref, when the exchange got that far.
  if (auto status = ref_status(done.out, "refs/heads/" + branch)) {
    const auto& [flag, summary] = *status;
    // [rejected]: git's own check (non-fast-forward, a stale lease) before sending the
    // update; [remote rejected]: the remote answered that it did not move the ref.
    if (flag == '!' &&
        (summary.starts_with("[rejected]") || summary.starts_with("[remote rejected]")))
      return {PushResult::Refused, summary};
    return {PushResult::Unknown, fmt::format("git push said '{}' for refs/heads/{} and {}", summary,
                                             branch, done.outcome())};
  }
  auto said = done.err + "\n" + done.out;
  for (auto words : kLostOnTheWay)
    if (says(said, words))
      return {PushResult::Unknown, fmt::format("the connection broke during the push ({})", words)};
  for (auto words : kBeforeSending)
    if (says(said, words))
      return {PushResult::Refused,
              fmt::format("the remote was not reached or refused access ({})", words)};
  return {PushResult::Unknown,
          fmt::format("git push failed ({}) without saying whether the remote took the push",
                      done.outcome())};
}

Outcome push_left_unknown(const PushAttempt& push, const PushVerdict& verdict,
                          const proc::Completed& done) {
  auto where = push.remote + "/" + push.branch;
  auto check = fmt::format(
      "`git -C {} ls-remote {} refs/heads/{}`: {} means the push landed, {} that it did not",
      push.repo, push.remote, push.branch, push.pushed, push.lease);
  auto o = Outcome::failure(
      redact(fmt::format("git push of {} to {}: result unknown: {}. The remote may or may not have "
                         "moved, so nothing may assume either "
                         "(no retry, no fallback). Check {}. The local branch stays at {}.\n{}",
                         push.pushed.substr(0, 12), where, verdict.reason, check,
                         push.pushed.substr(0, 12), trim(done.err + "\n" + done.out))));
  o.data["failure_left_changes"] =
      redact(fmt::format("unknown whether {} is at {}; check {}", where, push.pushed, check));
  o.data["check"] = redact(check);
  o.data["pushed"] = "unknown";
  return o;
}

}  // namespace rollback::actions::git
