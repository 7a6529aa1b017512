// coolify.rollback against the in-process fake Coolify (tests/support/fake_coolify.hpp),
// which follows the published API; Coolify itself cannot run here.
#include <catch2/catch.hpp>

#include "coolify_scene.hpp"

using namespace coolify_test;

TEST_CASE("coolify.rollback picks the last finished deployment with another commit, skipping failed and cancelled") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_new_deployment_stages({{"queued", 150ms}, {"in_progress", 300ms}, {"finished", 0ms}});
  Ctx c;
  auto pre = action().preflight(c.ctx, params(fake));
  INFO(pre.message);
  REQUIRE(pre.ok);
  CHECK(pre.data["target_deployment"] == "dep-1");
  CHECK(pre.data["current_deployment"] == "dep-4");

  auto done = action().run(c.ctx, params(fake));
  INFO(done.message);
  REQUIRE(done.ok);
  CHECK(done.data["target_commit"] == c1);
  CHECK(done.data["trigger"] == "rollback");
  CHECK(c.vars["from_version"] == c4.substr(0, 12));
  CHECK(c.vars["to_version"] == c1.substr(0, 12));
  // It waited through every stage.
  CHECK(any_contains(c.logs, ": queued"));
  CHECK(any_contains(c.logs, ": in_progress"));
  CHECK(any_contains(c.logs, ": finished"));
  bool posted = false;
  for (const auto& r : fake.requests()) {
    if (r.method == "POST" && r.path == "/api/v1/applications/app-uuid-1/rollback") {
      posted = true;
      CHECK(json::parse(r.body) == json{{"commit", c1}});
      CHECK(r.authorization == "Bearer " + kToken);
    }
  }
  CHECK(posted);
  CHECK(fake.deployments().front().rollback);
  CHECK(fake.deployments().front().status == "finished");
}

TEST_CASE("coolify.rollback rolls back to the deployment or commit the operator named") {
  FakeCoolify fake;
  fake.set_deployments(history());
  Ctx c;
  auto by_commit = action().run(c.ctx, params(fake, {{"to", c3.substr(0, 7)}}));
  // dep-3 was cancelled: a commit only counts through a finished deployment.
  REQUIRE_FALSE(by_commit.ok);
  CHECK_THAT(by_commit.message, Catch::Contains("no finished deployment"));
  auto failed = action().preflight(c.ctx, params(fake, {{"to", "dep-2"}}));
  REQUIRE_FALSE(failed.ok);
  CHECK_THAT(failed.message, Catch::Contains("dep-2 is failed"));
  auto named = action().run(c.ctx, params(fake, {{"to", "dep-1"}}));
  REQUIRE(named.ok);
  CHECK(named.data["target_commit"] == c1);
}

TEST_CASE("coolify.rollback reports a failed redeploy as a failure with the deployment's last log lines") {
  FakeCoolify fake;
  fake.set_deployments(history());
  json logs = json::array({{{"output", "Pulling image"}, {"type", "stdout"}, {"hidden", false}},
                           {{"output", "internal detail"}, {"type", "stdout"}, {"hidden", true}},
                           {{"output", "Error: port 8000 already in use"}, {"type", "stderr"}, {"hidden", false}}});
  fake.set_new_deployment_stages({{"queued", 100ms}, {"failed", 0ms}}, logs.dump());
  Ctx c;
  auto done = action().run(c.ctx, params(fake));
  REQUIRE_FALSE(done.ok);
  CHECK_THAT(done.message, Catch::Contains("dep-new-") && Catch::Contains("ended failed") &&
                               Catch::Contains("port 8000 already in use"));
  CHECK_THAT(done.message, !Catch::Contains("internal detail"));
  CHECK_THAT(done.log_excerpt, Catch::Contains("port 8000"));
}

TEST_CASE("coolify.rollback gives up waiting at its deadline and says the deployment is still running") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_new_deployment_stages({{"in_progress", 60s}, {"finished", 0ms}});
  Ctx c;
  auto done = action().run(c.ctx, params(fake, {{"wait", "400ms"}}));
  REQUIRE_FALSE(done.ok);
  CHECK_THAT(done.message, Catch::Contains("still in_progress") && Catch::Contains("not cancelled"));
}

TEST_CASE("coolify.rollback says the token is missing or wrong on 401 without printing it") {
  FakeCoolify fake("the-right-token");
  fake.set_deployments(history());
  Ctx c;
  auto pre = action().preflight(c.ctx, params(fake));
  REQUIRE_FALSE(pre.ok);
  CHECK_FALSE(pre.transient);
  CHECK_THAT(pre.message, Catch::Contains("401") && Catch::Contains("token is missing or wrong"));
  CHECK_THAT(pre.message, !Catch::Contains(kToken));
  auto invalid = action().preflight(c.ctx, Params(json{{"url", fake.url()}, {"token", "invalid-team"},
                                                       {"application", FakeCoolify::kApp}}));
  REQUIRE_FALSE(invalid.ok);
  CHECK_THAT(invalid.message, Catch::Contains("Invalid token"));
}

TEST_CASE("coolify.rollback waits as Retry-After asks when rate limited, then goes on") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.rate_limit_first(2, 1);
  Ctx c;
  auto started = std::chrono::steady_clock::now();
  auto done = action().run(c.ctx, params(fake));
  INFO(done.message);
  REQUIRE(done.ok);
  CHECK(std::chrono::steady_clock::now() - started >= 2s);
  CHECK(any_contains(c.logs, "Retry-After"));
  auto requests = fake.requests();
  REQUIRE(requests.size() >= 3);
  CHECK(requests[0].path == requests[2].path);  // the same call, tried again
}

TEST_CASE("coolify.rollback fails transiently when the rate limit outlasts its retries") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.rate_limit_first(1000, 1000);  // a Retry-After longer than it is willing to wait
  Ctx c;
  auto done = action().preflight(c.ctx, params(fake));
  REQUIRE_FALSE(done.ok);
  CHECK(done.transient);
  CHECK_THAT(done.message, Catch::Contains("429"));
}

TEST_CASE("coolify.rollback falls back to PATCH and deploy on servers without the rollback endpoint") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_rollback_endpoint(false);
  Ctx c;
  auto done = action().run(c.ctx, params(fake));
  INFO(done.message);
  REQUIRE(done.ok);
  CHECK(done.data["trigger"] == "deploy-fallback");
  CHECK_THAT(done.message, Catch::Contains("no rollback endpoint"));
  CHECK(fake.app_commit() == c1);
  CHECK(fake.deployments().front().commit == c1);
}

TEST_CASE("coolify.rollback names a missing application and accepts a bare deployments array") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_bare_array(true);
  Ctx c;
  REQUIRE(action().preflight(c.ctx, params(fake)).ok);
  auto missing = action().preflight(c.ctx, params(fake, {{"application", "no-such-app"}}));
  REQUIRE_FALSE(missing.ok);
  CHECK_THAT(missing.message, Catch::Contains("404") && Catch::Contains("Application not found."));
}

TEST_CASE("coolify.rollback is transient when the server does not answer") {
  Ctx c;
  auto done = action().preflight(c.ctx, Params(json{{"url", "http://127.0.0.1:1"}, {"token", kToken},
                                                    {"application", "a"}}));
  REQUIRE_FALSE(done.ok);
  CHECK(done.transient);
}

TEST_CASE("the Coolify token appears in no message, observation, log line, data or describe()") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.rate_limit_first(1, 1);
  fake.set_new_deployment_stages({{"queued", 50ms}, {"failed", 0ms}},
                                 json::array({{{"output", "boom"}, {"type", "stderr"}}}).dump());
  Ctx c;
  std::vector<rollback::actions::Outcome> outcomes{
      action().preflight(c.ctx, params(fake)), action().run(c.ctx, params(fake)),
      action().preflight(c.ctx, params(fake, {{"to", "dep-2"}}))};
  FakeCoolify wrong("another-token");
  outcomes.push_back(action().preflight(c.ctx, params(wrong)));
  for (const auto& o : outcomes) {
    CHECK_THAT(o.message, !Catch::Contains(kToken));
    CHECK_THAT(o.log_excerpt, !Catch::Contains(kToken));
    CHECK_THAT(o.data.dump(), !Catch::Contains(kToken));
    for (const auto& obs : o.observations) CHECK_THAT(obs.value, !Catch::Contains(kToken));
  }
  for (const auto& l : c.logs) CHECK_THAT(l, !Catch::Contains(kToken));
  CHECK_THAT(action().describe(params(fake)), !Catch::Contains(kToken));
}

TEST_CASE("the coolify target source lists good deployments, one per commit, so previous is the last good one") {
  FakeCoolify fake;
  fake.set_deployments(history());
  rollback::plan::TargetSpec spec;
  spec.from = "coolify";
  spec.with = YAML::Load("{url: '${coolify_url}', token: '${secrets.coolify_token}', application: app-uuid-1}");
  rollback::plan::Scope scope;
  scope.set_var("coolify_url", fake.url());
  scope.set_secret("coolify_token", kToken);
  auto targets = rollback::actions::coolify::list_from_spec(spec, scope);
  INFO((targets ? "" : targets.error().message));
  REQUIRE(targets);
  // dep-5 failed, dep-3b repeats the current commit, dep-3 was cancelled, dep-2 failed.
  REQUIRE(targets->size() == 2);
  CHECK((*targets)[0].name == "dep-4");
  CHECK((*targets)[0].current);
  CHECK_THAT((*targets)[0].detail, Catch::Contains("finished"));
  CHECK((*targets)[1].name == "dep-1");
  CHECK_FALSE((*targets)[1].current);
  CHECK((*targets)[0].created > (*targets)[1].created);
}
