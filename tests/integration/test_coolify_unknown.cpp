// coolify.rollback when a request that changes something got no clear answer (issue 24):
// once it has left, a timeout, a 5xx or an unreadable answer leaves its effect unknown; only
// a failure before it left (refused, DNS, TLS) or an answer that says no changed nothing.
// Against the in-process fake Coolify (tests/support/fake_coolify.hpp).
#include <fmt/format.h>

#include "coolify_scene.hpp"
#include "support/http_servers.hpp"

using namespace coolify_test;

namespace {

rollback::actions::coolify::Client client_of(const std::string& url,
                                             rollback::Millis timeout = rollback::Millis(5000)) {
  rollback::actions::coolify::ClientOptions o;
  o.url = url;
  o.token = kToken;
  o.request_timeout = timeout;
  return rollback::actions::coolify::Client(std::move(o));
}

size_t posts_to_rollback(const FakeCoolify& fake) {
  size_t n = 0;
  for (const auto& r : fake.requests()) n += r.method == "POST" && r.path.ends_with("/rollback");
  return n;
}

}  // namespace

TEST_CASE(
    "a rollback POST that never left (refused connection, TLS handshake failed) surely changed "
    "nothing",
    "[coolify][unknown]") {
  auto refused =
      client_of(fmt::format("http://127.0.0.1:{}", testing::unused_port())).rollback("app", c1);
  REQUIRE_FALSE(refused);
  CHECK_FALSE(refused.error().unknown);
  CHECK(refused.error().error.transient);  // nothing was sent: trying again is safe

  // https to a plain HTTP server: the handshake fails before any HTTP request is written.
  FakeCoolify fake;
  fake.set_deployments(history());
  auto url = fake.url();
  auto tls = client_of("https://" + url.substr(std::string("http://").size()))
                 .rollback(FakeCoolify::kApp, c1);
  REQUIRE_FALSE(tls);
  CHECK_FALSE(tls.error().unknown);
  CHECK(posts_to_rollback(fake) == 0);
}

TEST_CASE(
    "a rollback POST answered 500, timed out once sent, or accepted without a deployment has an "
    "unknown effect",
    "[coolify][unknown]") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_fault("rollback", {.status = 500});
  auto five_hundred = client_of(fake.url()).rollback(FakeCoolify::kApp, c1);
  REQUIRE_FALSE(five_hundred);
  CHECK(five_hundred.error().unknown);
  CHECK_FALSE(five_hundred.error().error.transient);  // never retried
  CHECK_THAT(five_hundred.error().error.message, Catch::Contains("500"));

  fake.set_fault("rollback", {.stall = 5s});
  auto started = std::chrono::steady_clock::now();
  auto stalled = client_of(fake.url(), 400ms).rollback(FakeCoolify::kApp, c1);
  CHECK(std::chrono::steady_clock::now() - started < 3s);
  REQUIRE_FALSE(stalled);
  CHECK(stalled.error().unknown);

  fake.set_fault("rollback", {.body = "<html>upstream said nothing</html>"});
  auto unreadable = client_of(fake.url()).rollback(FakeCoolify::kApp, c1);
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().unknown);
  CHECK_THAT(unreadable.error().error.message, Catch::Contains("without a deployment_uuid"));

  // Answers that say no: 422, 404 for the application, a rate limit beyond the retries.
  fake.set_fault("rollback",
                 {.status = 422, .acts = false, .body = R"({"message":"Validation failed."})"});
  auto refused = client_of(fake.url()).rollback(FakeCoolify::kApp, c1);
  REQUIRE_FALSE(refused);
  CHECK_FALSE(refused.error().unknown);
  auto missing = client_of(fake.url()).rollback("no-such-app", c1);
  REQUIRE_FALSE(missing);
  CHECK_FALSE(missing.error().unknown);
}

TEST_CASE(
    "coolify.rollback whose rollback POST got a 500 fails saying what is unknown and where to look",
    "[coolify][unknown]") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_fault("rollback", {.status = 500});  // Coolify queued it, then failed to answer
  Ctx c;
  auto done = action().run(c.ctx, params(fake));
  INFO(done.message);
  REQUIRE_FALSE(done.ok);
  CHECK_FALSE(done.transient);
  REQUIRE(done.data.contains("failure_left_changes"));
  CHECK_THAT(
      done.message,
      Catch::Contains("Coolify answered 500 to POST /api/v1/applications/app-uuid-1/rollback") &&
          Catch::Contains("Unknown whether Coolify queued a rollback deployment of commit " +
                          c1.substr(0, 12)) &&
          Catch::Contains("/api/v1/deployments/applications/app-uuid-1") &&
          Catch::Contains("Deployments"));
  CHECK(done.data["target_commit"] == c1);
  CHECK(fake.deployments().front().rollback);  // the ambiguity was real: the rollback is queued
  CHECK_THAT(done.message + done.data.dump(), !Catch::Contains(kToken));
}

TEST_CASE(
    "coolify.rollback on a server without the rollback endpoint: PATCH then /deploy 500 is "
    "unknown, a refused "
    "PATCH changed nothing",
    "[coolify][unknown]") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_rollback_endpoint(false);
  fake.set_fault("deploy", {.status = 500});
  Ctx c;
  auto done = action().run(c.ctx, params(fake));
  INFO(done.message);
  REQUIRE_FALSE(done.ok);
  REQUIRE(done.data.contains("failure_left_changes"));
  CHECK_THAT(done.message,
             Catch::Contains("500 to POST /api/v1/deploy") &&
                 Catch::Contains("Unknown whether Coolify queued a deployment of commit") &&
                 Catch::Contains("git_commit_sha is now " + c1) &&
                 Catch::Contains("/api/v1/deployments/applications/app-uuid-1"));
  CHECK(fake.app_commit() == c1);

  FakeCoolify older;
  older.set_deployments(history());
  older.set_rollback_endpoint(false);
  older.set_fault("patch",
                  {.status = 422, .acts = false, .body = R"({"message":"Validation failed."})"});
  auto refused = action().run(c.ctx, params(older));
  INFO(refused.message);
  REQUIRE_FALSE(refused.ok);
  CHECK_FALSE(
      refused.data.contains("failure_left_changes"));  // nothing changed: a fallback may run
  CHECK(older.app_commit().empty());
}

TEST_CASE(
    "coolify.rollback whose rollback POST is received but not answered before the step's deadline "
    "is unknown",
    "[coolify][unknown]") {
  FakeCoolify fake;
  fake.set_deployments(history());
  fake.set_fault("rollback", {.stall = 10s});
  Ctx c;
  c.ctx.deadline = std::chrono::steady_clock::now() + 1500ms;
  auto done = action().run(c.ctx, params(fake));
  INFO(done.message);
  REQUIRE_FALSE(done.ok);
  REQUIRE(done.data.contains("failure_left_changes"));
  CHECK_THAT(done.message, Catch::Contains("Timeout was reached") &&
                               Catch::Contains("Unknown whether Coolify queued"));
  CHECK(fake.deployments().front().rollback);  // it was queued all the same
}
