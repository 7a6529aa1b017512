// coolify.rollback: redeploy an application at the last good deployment's commit and wait
// for the new deployment to finish. The token never leaves the Authorization header.
#include <rollback/actions/coolify.hpp>
#include <rollback/actions/rehearsal.hpp>

#include <regex>
#include <thread>

#include <fmt/format.h>

#include <rollback/proc/runner.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::coolify {
namespace {

using Clock = std::chrono::steady_clock;

std::string short_commit(const std::string& c) { return c.substr(0, 12); }

// Values that go into URL paths: Coolify uuids are [a-z0-9], names allow - and _.
bool safe_id(const std::string& s) {
  static const std::regex ok("[A-Za-z0-9_.:-]+");
  return std::regex_match(s, ok);
}

Client make_client(ActionContext& ctx, const Params& p) {
  ClientOptions o;
  o.url = p.str("url");
  o.token = p.str("token");
  o.insecure = p.flag("insecure", false);
  o.request_timeout = ctx.remaining(Millis(30000));
  o.deadline = ctx.deadline;
  o.log = [&ctx](std::string_view line) { if (ctx.log) ctx.log(line); };
  return Client(std::move(o));
}

Outcome failure(const Error& e) { return Outcome::failure(redact(e.message), e.transient); }

std::optional<Error> check_params(const Params& p) {
  auto url = p.str("url");
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return Error{fmt::format("with.url: expected http(s)://host, got '{}'", url)};
  }
  if (p.str("token").empty()) return Error{"with.token: empty; give the Coolify API token (a secret)"};
  if (!safe_id(p.str("application"))) {
    return Error{fmt::format("with.application: '{}' is not an application uuid", p.str("application"))};
  }
  if (p.has("to") && !p.str("to").empty() && !safe_id(p.str("to"))) {
    return Error{fmt::format("with.to: '{}' is not a deployment uuid or commit", p.str("to"))};
  }
  return std::nullopt;
}

void record_choice(ActionContext& ctx, Outcome& o, const Choice& c, const std::string& app) {
  o.data["application"] = app;
  if (c.current) {
    o.data["current_deployment"] = c.current->uuid;
    o.data["current_commit"] = c.current->commit;
    o.observations.push_back({"current", c.current->uuid + " " + short_commit(c.current->commit), true});
  }
  o.data["target_deployment"] = c.target.uuid;
  o.data["target_commit"] = c.target.commit;
  o.observations.push_back({"target", c.target.uuid + " " + short_commit(c.target.commit), true});
  if (ctx.set_var) {
    if (c.current) ctx.set_var("from_version", short_commit(c.current->commit));
    ctx.set_var("to_version", short_commit(c.target.commit));
  }
}

Result<Choice> list_and_choose(Client& client, const Params& p) {
  auto list = client.deployments(p.str("application"), static_cast<int>(p.integer("take", 100)));
  if (!list) return std::unexpected(list.error());
  return choose(*list, p.str("to"));
}

Outcome preflight(ActionContext& ctx, const Params& p) {
  if (auto bad = check_params(p)) return failure(*bad);
  auto client = make_client(ctx, p);
  auto version = client.version();
  if (!version) return failure(version.error());
  auto choice = list_and_choose(client, p);
  if (!choice) return failure(choice.error());
  auto o = Outcome::success(fmt::format(
      "Coolify {} answers; {} -> deployment {} (commit {}, {})", *version,
      choice->current ? fmt::format("current {} (commit {})", choice->current->uuid, short_commit(choice->current->commit))
                      : "no current deployment",
      choice->target.uuid, short_commit(choice->target.commit), choice->target.created_at));
  o.data["coolify_version"] = *version;
  record_choice(ctx, o, *choice, p.str("application"));
  return o;
}

// Where the operator sees what Coolify did with a request whose answer was lost: the
// application's deployment list, by API and in the UI.
std::string deployments_hint(const Params& p) {
  return fmt::format(
      "the deployments of application {}: GET "
      "{}/api/v1/deployments/applications/{}?skip=0&take=10, "
      "or in Coolify: the application -> Deployments",
      p.str("application"), p.str("url"), p.str("application"));
}

// A step that failed after asking Coolify for a change, with its effect unknown (or known to
// remain): no retry, and `failure_left_changes` keeps a `fallback: failed` from starting,
// which would push and restore on top of a rollback Coolify may be running.
Outcome left_changes(const std::string& error, const std::string& what, const std::string& check) {
  auto o = Outcome::failure(
      redact(fmt::format("{}. {}; no fallback runs on top of it. Check {}", error, what, check)));
  o.data["failure_left_changes"] = redact(fmt::format("{}; check {}", what, check));
  o.data["check"] = redact(check);
  return o;
}

struct Triggered {
  std::string uuid;
  std::string trigger;  // rollback | deploy-fallback
};

// Asks Coolify for the rollback deployment: the rollback endpoint, or on servers without it
// (a 404 for the route, before anything changed) the commit set on the application and a
// deploy. An answer that does not say whether Coolify acted is not a failure that changed nothing.
std::expected<Triggered, Outcome> trigger(ActionContext& ctx, Client& client, const Params& p,
                                          const std::string& commit) {
  auto app = p.str("application");
  auto queued = client.rollback(app, commit);
  if (!queued && !queued.error().unknown) return std::unexpected(failure(queued.error().error));
  if (!queued)
    return std::unexpected(left_changes(
        queued.error().error.message,
        fmt::format(
            "Unknown whether Coolify queued a rollback deployment of commit {} for application {}",
            short_commit(commit), app),
        deployments_hint(p)));
  if (*queued) return Triggered{**queued, "rollback"};

  if (ctx.log)
    ctx.log("this Coolify has no rollback endpoint (404): setting git_commit_sha and redeploying");
  auto pinned = client.set_commit(app, commit);
  if (!pinned && !pinned.error().unknown) return std::unexpected(failure(pinned.error().error));
  if (!pinned)
    return std::unexpected(left_changes(
        pinned.error().error.message,
        fmt::format(
            "Unknown whether application {}'s git_commit_sha is now {} (nothing was deployed)", app,
            short_commit(commit)),
        fmt::format(
            "GET {}/api/v1/applications/{} (git_commit_sha), or in Coolify: the application -> "
            "Configuration -> Git commit SHA; then {}",
            p.str("url"), app, deployments_hint(p))));
  auto deployed = client.deploy(app);
  if (deployed) return Triggered{*deployed, "deploy-fallback"};
  auto pinned_now =
      fmt::format("application {}'s git_commit_sha is now {} (set by this step)", app, commit);
  // Refused or never sent: nothing runs in Coolify, as after a failed deployment; the pinned
  // commit stays either way (docs/coolify.md), and the message says so.
  if (!deployed.error().unknown)
    return std::unexpected(failure(Error{fmt::format("{}; no deployment was queued, but {}",
                                                     deployed.error().error.message, pinned_now),
                                         deployed.error().error.transient}));
  return std::unexpected(
      left_changes(deployed.error().error.message,
                   fmt::format("Unknown whether Coolify queued a deployment of commit {}; {}",
                               short_commit(commit), pinned_now),
                   deployments_hint(p)));
}

// Polls the new deployment until it ends or `wait` passes; logs each status change.
Result<Deployment> wait_for(ActionContext& ctx, Client& client, const std::string& uuid, Millis wait, Millis poll) {
  auto deadline = std::min(Clock::now() + wait, ctx.deadline);
  std::string last_status;
  Error last_error{"no answer yet"};
  std::optional<Deployment> seen;
  for (;;) {
    auto d = client.deployment(uuid);
    if (d) {
      seen = *d;
      if (d->status != last_status && ctx.log) ctx.log(fmt::format("deployment {}: {}", uuid, d->status));
      last_status = d->status;
      if (d->ended()) return *d;
    } else if (!d.error().transient) {
      return std::unexpected(d.error());
    } else {
      last_error = d.error();
      if (ctx.log) ctx.log(redact("polling: " + d.error().message));
    }
    if (Clock::now() + poll > deadline) break;
    auto until = Clock::now() + poll;
    while (Clock::now() < until) {
      if (proc::cancel_requested()) return fail(fmt::format("interrupted while waiting for deployment {}", uuid));
      std::this_thread::sleep_for(Millis(20));
    }
  }
  return fail(fmt::format("deployment {} is still {} after {}; it keeps running in Coolify (not cancelled){}", uuid,
                          seen ? seen->status : "unknown", format_duration(wait),
                          seen ? "" : "; last error: " + last_error.message));
}

Outcome run_step(ActionContext& ctx, const Params& p) {
  if (auto bad = check_params(p)) return failure(*bad);
  auto client = make_client(ctx, p);
  auto app = p.str("application");
  auto choice = list_and_choose(client, p);
  if (!choice) return failure(choice.error());
  const auto& target = choice->target;
  if (choice->current && choice->current->uuid == target.uuid) {
    auto o = Outcome::success(fmt::format("deployment {} (commit {}) is already the current one; nothing to do",
                                          target.uuid, short_commit(target.commit)));
    record_choice(ctx, o, *choice, app);
    return o;
  }
  std::string commit = target.commit.empty() ? target.image_tag : target.commit;
  if (commit.empty()) return Outcome::failure(fmt::format("deployment {} has neither a commit nor an image tag", target.uuid));

  auto started = Clock::now();
  auto triggered = trigger(ctx, client, p, commit);
  if (!triggered) {
    record_choice(ctx, triggered.error(), *choice, app);
    return triggered.error();
  }
  const std::string& uuid = triggered->uuid;
  const std::string& trigger = triggered->trigger;
  if (ctx.log) ctx.log(fmt::format("deployment {} queued for commit {}", uuid, short_commit(commit)));

  auto done = wait_for(ctx, client, uuid, p.duration("wait", Millis(600000)), p.duration("poll", Millis(5000)));
  auto took = std::chrono::duration_cast<Millis>(Clock::now() - started);
  std::string via = trigger == "rollback" ? "" : " (no rollback endpoint on this server: redeployed via PATCH + /deploy)";
  Outcome o;
  if (!done) {
    o = failure(done.error());
    // Not "as it was": the deployment may still finish. A fallback must not race it.
    auto check =
        fmt::format("GET {}/api/v1/deployments/{}, or in Coolify: the application -> Deployments",
                    p.str("url"), uuid);
    o.data["failure_left_changes"] =
        fmt::format("deployment {} may still be running in Coolify; check {}", uuid, check);
    o.data["check"] = check;
  } else if (done->status != "finished") {
    auto lines = last_log_lines(done->logs, 20);
    std::string tail;
    for (const auto& l : lines) tail += l + "\n";
    o = Outcome::failure(redact(fmt::format("rollback deployment {} ended {} after {}{}{}", uuid, done->status,
                                            format_duration(took), via,
                                            tail.empty() ? "" : "; last log lines:\n" + tail)));
    o.log_excerpt = redact(tail);
  } else {
    o = Outcome::success(fmt::format("deployment {} finished in {}: commit {} ({}) is live{}", uuid,
                                     format_duration(took), short_commit(commit), target.commit_message, via));
  }
  record_choice(ctx, o, *choice, app);
  o.data["deployment"] = uuid;
  o.data["trigger"] = trigger;
  o.data["duration_ms"] = took.count();
  o.data["status"] = done ? done->status : "unknown";
  o.observations.push_back({"deployment", uuid + " " + (done ? done->status : "unknown"), o.ok});
  o.observations.push_back({"duration", format_duration(took), o.ok});
  if (trigger != "rollback") o.observations.push_back({"trigger", "deploy (fallback)", true});
  return o;
}

std::string describe(const Params& p) {
  return fmt::format("Coolify {}: roll application {} back to {} and wait up to {} for the deployment",
                     p.str("url"), p.str("application"),
                     p.str("to").empty() ? "the last finished deployment before the current one" : p.str("to"),
                     format_duration(p.duration("wait", Millis(600000))));
}

}  // namespace

Action rollback_action() {
  Action a;
  a.name = "coolify.rollback";
  a.summary = "redeploy a Coolify application at its last good deployment and wait for it";
  a.params = with_api({param("application").required().names(plan::Names::Identifier)
                  .doc("the uuid of the Coolify application to roll back"),
              param("to")
                  .doc("deployment uuid or commit (7+ chars) to go to (default: last finished one of another commit)"),
              param("wait", ParamType::Duration)
                  .doc("how long to wait for the new deployment to end (default 10m); never cancelled"),
              param("poll", ParamType::Duration)
                  .doc("time between two polls of the new deployment's status (default 5s)"),
              param("insecure", ParamType::Bool).doc("skip TLS certificate and host name verification (default false)"),
              param("take", ParamType::Int)
                  .doc("how many of the newest deployments to list and choose from (default 100)")});
  a.destructive = true;
  // Rerunning would queue another deployment; it finds "already current" when the first
  // one finished, but one still running would be raced.
  a.rerun_safe = false;
  // A deployment that fails leaves the running one in place (docs/coolify.md), and so does
  // an API that refuses the request or never received it. One still running at `wait`, a
  // request whose answer was lost (a timeout once sent, a 5xx, a 2xx without a deployment)
  // and a PATCH that pinned the commit say so in their data (failure_left_changes), which
  // keeps a `fallback: failed` from starting.
  a.failure_changes_nothing = true;
  a.validate = [](ParamCheck& check) {
    if (auto url = check.literal("url"); url && !url->starts_with("http://") && !url->starts_with("https://")) {
      check.error("url", fmt::format("url: expected http(s)://host, got '{}'", *url));
    }
    if (auto app = check.literal("application"); app && !safe_id(*app)) {
      check.error("application", fmt::format("application: '{}' is not an application uuid", *app));
    }
    if (auto token = check.literal("token"); token && !token->empty()) {
      check.error("token", "token: write it as ${secrets.NAME}, not literally in the plan");
    }
  };
  a.describe = describe;
  a.preflight = preflight;
  a.run = run_step;
  a.rehearse = not_rehearsed("not rehearsed: Coolify keeps no throwaway copy of an application to roll back");
  return a;
}

}  // namespace rollback::actions::coolify
