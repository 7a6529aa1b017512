// Choosing the Coolify deployment to roll back to, and reading deployment logs.
#include <catch2/catch.hpp>

#include <rollback/actions/coolify.hpp>

namespace {

using rollback::actions::coolify::Deployment;

Deployment dep(std::string uuid, std::string commit, std::string status) {
  Deployment d;
  d.uuid = std::move(uuid);
  d.commit = std::move(commit);
  d.status = std::move(status);
  return d;
}

}  // namespace

TEST_CASE("the current deployment is the one running now, else the newest finished") {
  using rollback::actions::coolify::choose;
  auto running = choose({dep("q", "c9", "queued"), dep("r", "c8", "in_progress"), dep("a", "c7", "finished"),
                         dep("b", "c6", "finished")}, "");
  REQUIRE(running);
  CHECK(running->current->uuid == "r");
  CHECK(running->target.uuid == "a");

  auto idle = choose({dep("f", "c9", "failed"), dep("a", "c7", "finished"), dep("b", "c6", "finished")}, "");
  REQUIRE(idle);
  CHECK(idle->current->uuid == "a");
  CHECK(idle->target.uuid == "b");
}

TEST_CASE("the target skips deployments of the current commit and those that never finished") {
  using rollback::actions::coolify::choose;
  auto c = choose({dep("a", "c7", "finished"), dep("b", "c7", "finished"), dep("x", "c6", "cancelled-by-user"),
                   dep("y", "c5", "failed"), dep("z", "c4", "queued"), dep("good", "c3", "finished")}, "");
  REQUIRE(c);
  CHECK(c->target.uuid == "good");
}

TEST_CASE("choosing fails clearly when no older good deployment exists") {
  using rollback::actions::coolify::choose;
  auto none = choose({dep("a", "c7", "finished"), dep("b", "c7", "finished"), dep("y", "c5", "failed")}, "");
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message, Catch::Contains("no finished deployment older than the current one"));
  auto empty = choose({}, "");
  REQUIRE_FALSE(empty);
}

TEST_CASE("a named commit prefix picks its newest finished deployment, a short prefix is refused") {
  using rollback::actions::coolify::choose;
  std::vector<Deployment> list{dep("a", "abcdef1234", "finished"), dep("b", "1234567890", "failed"),
                               dep("c", "1234567890", "finished")};
  auto c = choose(list, "1234567");
  REQUIRE(c);
  CHECK(c->target.uuid == "c");
  CHECK_FALSE(choose(list, "123"));
}

TEST_CASE("the last log lines skip hidden entries and tolerate a missing or malformed log") {
  using rollback::actions::coolify::last_log_lines;
  auto lines = last_log_lines(
      R"([{"output":"one"},{"output":"secret step","hidden":true},{"output":"two"},{"output":"three"}])", 2);
  CHECK(lines == std::vector<std::string>{"two", "three"});
  CHECK(last_log_lines("", 5).empty());
  CHECK(last_log_lines("not json", 5).empty());
}
