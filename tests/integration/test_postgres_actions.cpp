// pg.* against a real PostgreSQL cluster: scripts/test starts one with scripts/lib/pg-cluster
// and exports ROLLBACK_TEST_PG_DSN; without it these tests skip.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <netinet/in.h>
#include <sys/socket.h>
#include <tuple>
#include <unistd.h>

#include <rollback/actions/postgres.hpp>
#include <rollback/util/fs.hpp>

#include "support/http_servers.hpp"
#include "support/small_disk.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::actions;
namespace fs = std::filesystem;

namespace {

std::string test_dsn() {
  const char* dsn = std::getenv("ROLLBACK_TEST_PG_DSN");
  if (!dsn || !*dsn) testing::skip("ROLLBACK_TEST_PG_DSN is not set (start one with scripts/lib/pg-cluster)");
  return dsn;
}

struct Fixture {
  proc::SystemRunner runner;
  std::map<std::string, std::string> vars;
  std::vector<std::string> log;
  ActionContext ctx{"pg", runner,
                    [this](const std::string& k, const std::string& v) { vars[k] = v; },
                    [this](std::string_view line) { log.emplace_back(line); }};
  std::string dsn = test_dsn();
  std::string database;  // a fresh database per test, so tests can run side by side

  Fixture() {
    database = "rb_test_" + std::to_string(::getpid());
    admin("DROP DATABASE IF EXISTS " + database);
    admin("CREATE DATABASE " + database);
    dsn = with_db(database);
  }
  ~Fixture() { admin("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)"); }

  std::string with_db(const std::string& db) const {
    auto base = test_dsn();
    return base.substr(0, base.rfind('/') + 1) + db;
  }
  void admin(const std::string& sql) const {
    auto r = testing::run_program({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", test_dsn(), "-c", sql});
    REQUIRE(r.exit_code == 0);
  }
  // psql -tA: for setting up and inspecting data outside the actions under test.
  std::string sql(const std::string& text) const {
    auto r = testing::run_program({"psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", text});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  Outcome query(nlohmann::json params) {
    params["dsn"] = dsn;
    return pg::query_action().run(ctx, Params(params));
  }
  void seed() {
    sql("CREATE TABLE orders (id int PRIMARY KEY, item text, amount numeric)");
    sql("INSERT INTO orders SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 500) g");
  }
  std::string content_checksum() {
    return sql("SELECT md5(string_agg(id || ':' || item || ':' || amount, ',' ORDER BY id)) FROM orders");
  }
};

}  // namespace

TEST_CASE("pg.ready succeeds on a running cluster", "[pg]") {
  Fixture f;
  auto out = pg::ready_action().run(f.ctx, Params(nlohmann::json{{"dsn", f.dsn}}));
  INFO(out.message);
  CHECK(out.ok);
  CHECK(out.message.find("accepts connections") != std::string::npos);
}

TEST_CASE("pg.ready fails transiently on a port where nothing listens, after its wait", "[pg]") {
  proc::SystemRunner runner;
  ActionContext ctx{"pg", runner, [](auto&, auto&) {}, [](auto) {}};
  int port = testing::unused_port();
  auto dsn = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
  auto start = std::chrono::steady_clock::now();
  auto out = pg::ready_action().run(ctx, Params(nlohmann::json{{"dsn", dsn}, {"wait", "1s"}}));
  auto took = std::chrono::steady_clock::now() - start;
  INFO(out.message);
  CHECK_FALSE(out.ok);
  CHECK(out.transient);
  CHECK(out.message.find("127.0.0.1:" + std::to_string(port) + "/postgres") != std::string::npos);
  CHECK(out.message.find("does not respond") != std::string::npos);
  CHECK(took >= std::chrono::milliseconds(750));
  CHECK(took < std::chrono::seconds(5));
}

namespace {

// A TCP port that takes connections into its backlog and never says a word.
struct SilentPort {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  SilentPort() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~SilentPort() { ::close(fd); }
};

}  // namespace

TEST_CASE("pg.ready's wait bounds its wall time on a server that never answers, and says how long it took",
          "[pg][time]") {
  SilentPort silent;
  proc::SystemRunner runner;
  ActionContext ctx{"pg", runner, [](auto&, auto&) {}, [](auto) {}};
  auto dsn = "postgresql://postgres@127.0.0.1:" + std::to_string(silent.port) + "/postgres";
  for (auto [wait, low, high] : {std::tuple{"3s", 2900, 3500}, std::tuple{"1500ms", 1400, 2000}}) {
    auto start = std::chrono::steady_clock::now();
    auto out = pg::ready_action().run(ctx, Params(nlohmann::json{{"dsn", dsn}, {"wait", wait}}));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    INFO(wait << ": " << out.message << " after " << took.count() << " ms");
    CHECK_FALSE(out.ok);
    CHECK(out.message.find("does not respond") != std::string::npos);
    CHECK(took.count() >= low);
    CHECK(took.count() < high);  // libpq alone: a 2 s floor per check, in whole seconds (4.3 s for 3 s)
    CHECK_THAT(out.message, Catch::Contains("(1 check in ") && !Catch::Contains("within"));  // the time taken
  }
}

TEST_CASE("pg.ready calls a server that refuses the login ready, as PQping does: it is up", "[pg]") {
  auto base = test_dsn();
  proc::SystemRunner runner;
  ActionContext ctx{"pg", runner, [](auto&, auto&) {}, [](auto) {}};
  auto missing = base.substr(0, base.rfind('/') + 1) + "rb_no_such_database";
  auto out = pg::ready_action().run(ctx, Params(nlohmann::json{{"dsn", missing}, {"wait", "2s"}}));
  INFO(out.message);
  CHECK(out.ok);
}

TEST_CASE("pg.ready refuses a DSN with a broken port at preflight, not as a server that does not respond",
          "[pg][secrets]") {
  proc::SystemRunner runner;
  ActionContext ctx{"pg", runner, [](auto&, auto&) {}, [](auto) {}};
  Params params(nlohmann::json{{"dsn", "postgresql://postgres:hunter2@127.0.0.1:5x432/postgres"}});
  auto checked = pg::ready_action().preflight(ctx, params);
  CHECK_FALSE(checked.ok);
  CHECK_THAT(checked.message, Catch::Contains("option port is not a port number"));
  CHECK(checked.message.find("does not respond") == std::string::npos);
  CHECK(checked.message.find("5x432") == std::string::npos);
}

TEST_CASE("pg.query passes and fails its expectations with the observed value", "[pg]") {
  Fixture f;
  f.seed();
  auto pass = f.query({{"sql", "SELECT count(*) FROM orders"}, {"expect", ">= 1"}});
  INFO(pass.message);
  CHECK(pass.ok);
  auto exact = f.query({{"sql", "SELECT count(*) FROM orders"}, {"expect", {{"value", "== 500"}, {"rows", "== 1"}}}});
  CHECK(exact.ok);
  auto miss = f.query({{"sql", "SELECT count(*) FROM orders"}, {"expect", "== 42"}});
  CHECK_FALSE(miss.ok);
  CHECK_FALSE(miss.transient);
  CHECK(miss.message.find("expected value == 42, got '500'") != std::string::npos);
  CHECK(miss.message.find(f.database) != std::string::npos);
  auto rows = f.query({{"sql", "SELECT id FROM orders WHERE id > 495"}, {"expect", {{"rows", "> 10"}}}});
  CHECK_FALSE(rows.ok);
  CHECK(rows.message.find("expected rows > 10, got '5'") != std::string::npos);
}

TEST_CASE("pg.query stores the first value into a var", "[pg]") {
  Fixture f;
  f.seed();
  auto out = f.query({{"sql", "SELECT max(id) FROM orders"}, {"into", "last_order"}});
  REQUIRE(out.ok);
  CHECK(f.vars.at("last_order") == "500");
}

TEST_CASE("pg.query cannot change data, even with a second statement", "[pg]") {
  Fixture f;
  f.seed();
  auto del = f.query({{"sql", "DELETE FROM orders"}});
  CHECK_FALSE(del.ok);
  CHECK(del.message.find("read-only transaction") != std::string::npos);
  auto escape = f.query({{"sql", "COMMIT; DELETE FROM orders"}});
  CHECK_FALSE(escape.ok);
  CHECK(f.sql("SELECT count(*) FROM orders") == "500");
}

TEST_CASE("pg.query reports the server's message and a missing database clearly", "[pg]") {
  Fixture f;
  auto bad = f.query({{"sql", "SELECT * FROM no_such_table"}});
  CHECK_FALSE(bad.ok);
  CHECK(bad.message.find("relation \"no_such_table\" does not exist") != std::string::npos);
  Params missing(nlohmann::json{{"dsn", f.with_db("no_such_db_here")}, {"sql", "SELECT 1"}});
  auto out = pg::query_action().run(f.ctx, missing);
  CHECK_FALSE(out.ok);
  CHECK_FALSE(out.transient);
  CHECK(out.message.find("database missing at") != std::string::npos);
  CHECK(out.message.find("/no_such_db_here") != std::string::npos);
}

TEST_CASE("a wrong password is an auth error that never shows the password", "[pg]") {
  Fixture f;
  // scripts/lib/pg-cluster asks this one role for its password (everyone else: trust).
  f.admin("DROP ROLE IF EXISTS rb_password_user");
  f.admin("CREATE ROLE rb_password_user LOGIN PASSWORD 'right-pw-1234'");
  auto as_user = [&](const std::string& password) {
    auto dsn = f.dsn;
    dsn.replace(dsn.find("postgres@"), 9, "rb_password_user:" + password + "@");
    return dsn;
  };
  Params wrong(nlohmann::json{{"dsn", as_user("pw-never-shown")}, {"sql", "SELECT 1"}});
  auto out = pg::query_action().run(f.ctx, wrong);
  INFO(out.message);
  CHECK_FALSE(out.ok);
  CHECK_FALSE(out.transient);
  CHECK(out.message.find("authentication failed for PostgreSQL at 127.0.0.1:") != std::string::npos);
  CHECK(out.message.find("pw-never-shown") == std::string::npos);
  CHECK(pg::query_action().describe(wrong).find("pw-never-shown") == std::string::npos);

  // The right password reaches pg_dump through PGPASSWORD, not argv.
  testing::TempDir dir;
  auto dumped = pg::dump_action().run(
      f.ctx, Params(nlohmann::json{{"dsn", as_user("right-pw-1234")}, {"to", (dir / "x.dump").string()}}));
  INFO(dumped.message);
  CHECK(dumped.ok);
  CHECK(dumped.message.find("right-pw-1234") == std::string::npos);
  CHECK(f.query({{"sql", "SELECT 1"}, {"expect", "== 1"}}).ok);
  f.admin("DROP OWNED BY rb_password_user CASCADE");
  f.admin("DROP ROLE rb_password_user");
}

static void dump_delete_restore(const std::string& format) {
  Fixture f;
  testing::TempDir dir;
  f.seed();
  auto before_count = f.sql("SELECT count(*) FROM orders");
  auto before_sum = f.content_checksum();
  auto file = dir / ("shop." + format);
  auto dumped = pg::dump_action().run(f.ctx, Params(nlohmann::json{{"dsn", f.dsn}, {"to", file.string()}, {"format", format}}));
  INFO(dumped.message);
  REQUIRE(dumped.ok);
  REQUIRE(fs::exists(file.string() + ".sha256"));
  CHECK(testing::read_text(file.string() + ".sha256").starts_with(*sha256_file(file)));

  f.sql("DELETE FROM orders WHERE id % 3 = 0");
  f.sql("UPDATE orders SET item = 'changed' WHERE id = 1");
  REQUIRE(f.sql("SELECT count(*) FROM orders") != before_count);

  Params restore(nlohmann::json{{"dsn", f.dsn}, {"from", file.string()}});
  auto pre = pg::restore_action().preflight(f.ctx, restore);
  INFO(pre.message);
  REQUIRE(pre.ok);
  auto restored = pg::restore_action().run(f.ctx, restore);
  INFO(restored.message);
  REQUIRE(restored.ok);
  CHECK(f.sql("SELECT count(*) FROM orders") == before_count);
  CHECK(f.content_checksum() == before_sum);
}

TEST_CASE("a dump that would not fit refuses before pg_dump runs, with the numbers", "[pg]") {
  Fixture f;
  testing::TempDir dir;
  testing::SmallDisk disk(dir / "small", "1m");  // a database is several MB even when empty
  f.seed();
  auto dumped = pg::dump_action().run(
      f.ctx, Params(nlohmann::json{{"dsn", f.dsn}, {"to", (disk.path() / "shop.dump").string()}}));
  INFO(dumped.message);
  CHECK_FALSE(dumped.ok);
  CHECK_THAT(dumped.message, Catch::StartsWith("not enough free space in " + disk.path().string() + " for a dump of"));
  CHECK_THAT(dumped.message, Catch::Contains("1.0MB free"));
  CHECK(fs::is_empty(disk.path()));
}

TEST_CASE("dump, delete rows, restore gives back identical data (plain)", "[pg]") { dump_delete_restore("plain"); }
TEST_CASE("dump, delete rows, restore gives back identical data (custom)", "[pg]") { dump_delete_restore("custom"); }

static void truncated_is_refused(const std::string& format) {
  Fixture f;
  testing::TempDir dir;
  f.seed();
  auto file = dir / ("shop." + format);
  REQUIRE(pg::dump_action().run(f.ctx, Params(nlohmann::json{{"dsn", f.dsn}, {"to", file.string()}, {"format", format}})).ok);
  fs::remove(file.string() + ".sha256");  // no checksum: the format check alone must catch it
  fs::resize_file(file, fs::file_size(file) * 2 / 3);
  f.sql("DELETE FROM orders WHERE id > 400");
  Params restore(nlohmann::json{{"dsn", f.dsn}, {"from", file.string()}});
  auto pre = pg::restore_action().preflight(f.ctx, restore);
  INFO(pre.message);
  CHECK_FALSE(pre.ok);
  CHECK(pre.message.find(format == "plain" ? "is truncated" : "pg_restore cannot read the archive") !=
        std::string::npos);
  auto out = pg::restore_action().run(f.ctx, restore);
  INFO(out.message);
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("refused") != std::string::npos);
  CHECK(f.sql("SELECT count(*) FROM orders") == "400");  // nothing dropped
}

TEST_CASE("a truncated plain dump is refused before anything is dropped", "[pg]") { truncated_is_refused("plain"); }
TEST_CASE("a truncated custom archive is refused before anything is dropped", "[pg]") { truncated_is_refused("custom"); }

TEST_CASE("a dump whose checksum does not match is refused", "[pg]") {
  Fixture f;
  testing::TempDir dir;
  f.seed();
  auto file = dir / "shop.dump";
  REQUIRE(pg::dump_action().run(f.ctx, Params(nlohmann::json{{"dsn", f.dsn}, {"to", file.string()}})).ok);
  f.sql("DELETE FROM orders");
  Params restore(nlohmann::json{{"dsn", f.dsn}, {"from", file.string()}, {"checksum", "sha256:" + std::string(64, '0')}});
  auto out = pg::restore_action().run(f.ctx, restore);
  CHECK_FALSE(out.ok);
  CHECK(out.message.find("fails its checksum") != std::string::npos);
  CHECK(f.sql("SELECT count(*) FROM orders") == "0");
}

TEST_CASE("without a DSN, libpq's PG* environment chooses the server and database", "[pg]") {
  Fixture f;
  testing::TempDir dir;
  f.seed();
  auto dsn = pg::parse_dsn(f.dsn);
  REQUIRE(dsn);
  ::setenv("PGHOST", dsn->options.at("host").c_str(), 1);
  ::setenv("PGPORT", dsn->options.at("port").c_str(), 1);
  ::setenv("PGUSER", dsn->options.at("user").c_str(), 1);
  ::setenv("PGDATABASE", f.database.c_str(), 1);
  auto out = pg::query_action().run(f.ctx, Params(nlohmann::json{{"sql", "SELECT count(*) FROM orders"}, {"expect", "== 500"}}));
  INFO(out.message);
  CHECK(out.ok);
  CHECK(out.message.find("/" + f.database) != std::string::npos);
  for (std::string format : {"plain", "custom"}) {
    auto file = (dir / ("env." + format)).string();
    auto dumped = pg::dump_action().run(f.ctx, Params(nlohmann::json{{"to", file}, {"format", format}}));
    INFO(dumped.message);
    REQUIRE(dumped.ok);
    f.sql("DELETE FROM orders WHERE id > 100");
    auto restored = pg::restore_action().run(f.ctx, Params(nlohmann::json{{"from", file}}));
    INFO(restored.message);
    REQUIRE(restored.ok);
    CHECK(f.sql("SELECT count(*) FROM orders") == "500");
  }
}

TEST_CASE("pg.query names host:port/db when the connection is refused", "[pg]") {
  proc::SystemRunner runner;
  ActionContext ctx{"pg", runner, [](auto&, auto&) {}, [](auto) {}};
  auto where = "127.0.0.1:" + std::to_string(testing::unused_port()) + "/appdb";
  auto out = pg::query_action().run(ctx, Params(nlohmann::json{{"dsn", "postgresql://postgres@" + where}, {"sql", "SELECT 1"}}));
  CHECK_FALSE(out.ok);
  CHECK(out.transient);
  CHECK(out.message.find("connection refused by PostgreSQL at " + where) != std::string::npos);
}
