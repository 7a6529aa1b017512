// Every wait ends (issue 24, item 10): a step's `timeout` bounds every network call in it
// (connect, send and receive), and SIGTERM ends a run within 2 s wherever it waits. The
// servers here accept the connection and then never answer, as the demo's fetchInstances did
// with its database paused: a raw socket for HTTP, a paused PostgreSQL container, and a
// `pg_sleep(600)` on the test cluster. The real binary runs; the test measures it from outside.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <rollback/actions/coolify.hpp>
#include <rollback/actions/notify.hpp>
#include <rollback/proc/runner.hpp>

#include "cli_spawn.hpp"
#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"
#include "test_docker_support.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// Accepts every connection on 127.0.0.1 and never sends a byte, keeping each one open.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) continue;
        clients_.push_back(client);
        ++accepted_;
      }
    });
  }
  ~SilentServer() {
    stop_ = true;
    thread_.join();
    for (int c : clients_) ::close(c);
    ::close(fd_);
  }
  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> clients_;
  std::thread thread_;
};

// The demo's first step: count what the API lists, for a later comparison. It sets a var,
// so preflight runs it for real, in a dry run too.
std::string counting_plan(const std::string& url, const std::string& timeout) {
  return fmt::format(R"(version: 1
name: silent-count
steps:
  - id: count-instances
    name: Instances before (fetchInstances)
    phase: assess
    action: http.probe
    timeout: {}
    with: {{url: "{}", count: "", into: instances_before}}
  - id: restart
    action: exec.run
    with: {{argv: ["true"]}}
)",
                     timeout, url);
}

// A probe that preflight leaves alone: it runs as a step.
std::string probe_plan(const std::string& url, const std::string& timeout) {
  return fmt::format(R"(version: 1
name: silent-probe
steps:
  - id: health
    phase: verify
    action: http.probe
    timeout: {}
    with: {{url: "{}"}}
)",
                     timeout, url);
}

std::string query_plan(const std::string& dsn, const std::string& sql, const std::string& timeout) {
  return fmt::format(R"(version: 1
name: silent-query
steps:
  - id: count-rows
    phase: verify
    action: pg.query
    timeout: {}
    with: {{dsn: "{}", sql: "{}"}}
)",
                     timeout, dsn, sql);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Timed {
  testing::CommandResult result;
  double seconds = 0;
};

Timed timed_run(const std::vector<std::string>& args) {
  auto started = Clock::now();
  auto result = testing::run_rollback(args);
  return {result, seconds_since(started)};
}

// Waits until `ready` holds (or fails the test), sends SIGTERM and returns how long the
// binary took to exit after it, with its exit code.
std::pair<double, int> terminate_when(const cli_test::Background& bg,
                                      const std::function<bool()>& ready) {
  REQUIRE(bg.pid > 0);
  auto until = Clock::now() + 60s;
  bool is_ready = false;
  while (!(is_ready = ready()) && Clock::now() < until) std::this_thread::sleep_for(20ms);
  INFO(testing::read_text(bg.err));
  REQUIRE(is_ready);
  auto sent = Clock::now();
  REQUIRE(::kill(bg.pid, SIGTERM) == 0);
  int code = cli_test::wait_exit(bg.pid, 30s);
  return {seconds_since(sent), code};
}

std::string test_dsn() {
  const char* dsn = std::getenv("ROLLBACK_TEST_PG_DSN");
  if (!dsn || !*dsn)
    testing::skip("ROLLBACK_TEST_PG_DSN is not set (start one with scripts/lib/pg-cluster)");
  return dsn;
}

std::string psql(const std::string& dsn, const std::string& sql) {
  auto r = testing::run_program({"psql", "-X", "-q", "-tA", "-d", dsn, "-c", sql});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE(
    "an HTTP probe whose server accepts the connection and never answers ends at the step's "
    "timeout, in "
    "preflight and as a step",
    "[waits][http]") {
  testing::TempDir dir;
  SilentServer server;
  auto state = (dir / "state").string();

  // The demo's case: `quick --dry-run` sat for 9 minutes in this probe with `timeout: 15s`.
  testing::write_text(dir / "count.yaml",
                      counting_plan(server.url("/instance/fetchInstances"), "3s"));
  auto dry = timed_run({"--state-dir", state, (dir / "count.yaml").string(), "--dry-run"});
  INFO(dry.result.out << dry.result.err);
  CHECK(dry.result.exit_code == 4);  // preflight failed: the probe did not answer in time
  CHECK_THAT(dry.result.out + dry.result.err,
             Catch::Contains("count-instances") && Catch::Contains("timeout"));
  CHECK(dry.seconds >= 2.8);
  CHECK(dry.seconds < 8.0);

  testing::write_text(dir / "probe.yaml", probe_plan(server.url("/health"), "3s"));
  auto run = timed_run({"--state-dir", state, (dir / "probe.yaml").string(), "--yes"});
  INFO(run.result.out << run.result.err);
  CHECK(run.result.exit_code == 5);  // a verify step that failed
  CHECK_THAT(run.result.out + run.result.err, Catch::Contains("health") && Catch::Contains("3.0s"));
  CHECK(run.seconds >= 2.8);
  CHECK(run.seconds < 8.0);
}

TEST_CASE(
    "SIGTERM ends a run waiting on an HTTP server that never answers within 2 s with exit 130, in "
    "preflight "
    "and as a step",
    "[waits][http][signals]") {
  testing::TempDir dir;
  SilentServer server;
  auto state = (dir / "state").string();

  testing::write_text(dir / "count.yaml",
                      counting_plan(server.url("/instance/fetchInstances"), "10m"));
  auto dry = cli_test::spawn_rollback(
      {"--state-dir", state, (dir / "count.yaml").string(), "--dry-run"}, dir.path(), "dry");
  auto [dry_took, dry_code] = terminate_when(dry, [&] { return server.accepted() >= 1; });
  INFO(testing::read_text(dry.out) << testing::read_text(dry.err));
  CHECK(dry_code == 130);
  CHECK(dry_took < 2.0);
  CHECK_THAT(testing::read_text(dry.out) + testing::read_text(dry.err),
             Catch::Contains("interrupted"));

  testing::write_text(dir / "probe.yaml", probe_plan(server.url("/health"), "10m"));
  auto run = cli_test::spawn_rollback(
      {"--state-dir", state, (dir / "probe.yaml").string(), "--yes"}, dir.path(), "run");
  auto [run_took, run_code] = terminate_when(run, [&] { return server.accepted() >= 2; });
  INFO(testing::read_text(run.out) << testing::read_text(run.err));
  CHECK(run_code == 130);
  CHECK(run_took < 2.0);
}

TEST_CASE(
    "a pg.query against a paused PostgreSQL container ends at the step's timeout, and at SIGTERM "
    "within 2 s "
    "with exit 130",
    "[waits][postgres][docker][signals]") {
  dockertest::require_engine();
  const std::string image = "local/postgres:15";
  if (testing::run_program({"docker", "image", "inspect", image}).exit_code != 0)
    testing::skip(image + " is not present (scripts/lib/postgres-image)");
  dockertest::Cleanup cleanup;
  auto name = dockertest::unique("rb-waits-pg");
  cleanup.name_prefixes.push_back(name);
  auto port = testing::unused_publish_port();
  // --rm: the cluster's anonymous volume goes with the container.
  REQUIRE(dockertest::docker_rc({"run", "-d", "--rm", "--name", name, "-e", "POSTGRES_USER=rb",
                                 "-e", "POSTGRES_DB=rb", "-p",
                                 fmt::format("127.0.0.1:{}:5432", port), image}) == 0);
  bool up = false;
  for (int i = 0; i < 240 && !up; ++i) {
    up = dockertest::docker_rc(
             {"exec", name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "rb", "-d", "rb"}) == 0;
    if (!up) std::this_thread::sleep_for(250ms);
  }
  REQUIRE(up);
  auto dsn = fmt::format("postgresql://rb@127.0.0.1:{}/rb", port);
  testing::TempDir dir;
  auto state = dir / "state";
  // It answers before the pause: what follows is the pause, not a server still starting.
  testing::write_text(dir / "alive.yaml", query_plan(dsn, "SELECT 1", "30s"));
  auto alive = testing::run_rollback(
      {"--state-dir", state.string(), (dir / "alive.yaml").string(), "--yes"});
  INFO(alive.out << alive.err);
  REQUIRE(alive.exit_code == 0);

  // Paused before the connection: the startup packet is never answered.
  REQUIRE(dockertest::docker_rc({"pause", name}) == 0);
  testing::write_text(dir / "paused.yaml", query_plan(dsn, "SELECT count(*) FROM pg_class", "3s"));
  auto paused = timed_run({"--state-dir", state.string(), (dir / "paused.yaml").string(), "--yes"});
  INFO(paused.result.out << paused.result.err);
  CHECK(paused.result.exit_code == 5);
  CHECK_THAT(paused.result.out + paused.result.err, Catch::Contains("timed out after 3"));
  CHECK(paused.seconds >= 2.8);
  CHECK(paused.seconds < 8.0);
  REQUIRE(dockertest::docker_rc({"unpause", name}) == 0);

  // Paused while the query runs: the server's statement_timeout never fires, the step's
  // deadline must. The marker finds the query in pg_stat_activity.
  auto marker = [](const char* which) { return fmt::format("rb_waits_{}_{}", ::getpid(), which); };
  auto sleeping = [](const std::string& marker) {
    return fmt::format("SELECT pg_sleep(60) AS {}", marker);
  };
  auto running = [&](const std::string& marker) {
    return dockertest::docker_out(
               {"exec", name, "psql", "-X", "-tA", "-U", "rb", "-d", "rb", "-c",
                fmt::format("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{}%' AND "
                            "pid <> pg_backend_pid() AND state = 'active'",
                            marker)})
        .starts_with("1");
  };
  testing::write_text(dir / "mid.yaml", query_plan(dsn, sleeping(marker("mid")), "4s"));
  auto started = Clock::now();
  auto mid = cli_test::spawn_rollback(
      {"--state-dir", state.string(), (dir / "mid.yaml").string(), "--yes"}, dir.path(), "mid");
  for (int i = 0; i < 150 && !running(marker("mid")); ++i) std::this_thread::sleep_for(20ms);
  REQUIRE(dockertest::docker_rc({"pause", name}) == 0);
  int mid_code = cli_test::wait_exit(mid.pid, 30s);
  double mid_took = seconds_since(started);
  INFO(testing::read_text(mid.out) << testing::read_text(mid.err));
  CHECK(mid_code == 5);
  CHECK(mid_took >= 3.8);
  CHECK(mid_took < 9.0);
  REQUIRE(dockertest::docker_rc({"unpause", name}) == 0);

  testing::write_text(dir / "long.yaml", query_plan(dsn, sleeping(marker("long")), "10m"));
  auto bg = cli_test::spawn_rollback(
      {"--state-dir", state.string(), (dir / "long.yaml").string(), "--yes"}, dir.path(), "long");
  auto [took, code] = terminate_when(bg, [&] {
    if (!running(marker("long"))) return false;
    return dockertest::docker_rc({"pause", name}) == 0;
  });
  INFO(testing::read_text(bg.out) << testing::read_text(bg.err));
  CHECK(code == 130);
  CHECK(took < 2.0);
  dockertest::docker_rc({"unpause", name});
}

TEST_CASE(
    "a pg.query running pg_sleep(600) ends at the step's timeout, and SIGTERM ends the run within "
    "2 s with exit "
    "130 and cancels the query on the server",
    "[waits][postgres][signals]") {
  auto dsn = test_dsn();
  testing::TempDir dir;
  auto state = dir / "state";
  testing::write_text(dir / "short.yaml", query_plan(dsn, "SELECT pg_sleep(600)", "3s"));
  auto short_run =
      timed_run({"--state-dir", state.string(), (dir / "short.yaml").string(), "--yes"});
  INFO(short_run.result.out << short_run.result.err);
  CHECK(short_run.result.exit_code == 5);
  CHECK(short_run.seconds >= 2.8);
  CHECK(short_run.seconds < 8.0);

  // A marker in the query's text finds its backend in pg_stat_activity.
  auto marker = fmt::format("rb_waits_{}", ::getpid());
  auto sql = fmt::format("SELECT pg_sleep(600) AS {}", marker);
  auto running = [&] {
    return psql(dsn, fmt::format(
                         "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{}%' AND pid <> "
                         "pg_backend_pid() AND state = 'active'",
                         marker))
        .starts_with("1");
  };
  testing::write_text(dir / "long.yaml", query_plan(dsn, sql, "10m"));
  auto bg = cli_test::spawn_rollback(
      {"--state-dir", state.string(), (dir / "long.yaml").string(), "--yes"}, dir.path(), "long");
  auto [took, code] = terminate_when(bg, running);
  INFO(testing::read_text(bg.out) << testing::read_text(bg.err));
  CHECK(code == 130);
  CHECK(took < 2.0);
  // PQcancel reached the server: the query is gone, not left sleeping for 10 minutes.
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = !running();
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  CHECK(gone);
}

TEST_CASE(
    "the Coolify client and the notify actions end at the step's deadline against a server that "
    "never answers, "
    "and at an interrupt, except the notifications sent once the run has ended",
    "[waits][http][coolify][notify]") {
  using namespace rollback;
  SilentServer server;
  proc::SystemRunner runner;
  auto context = [&](Millis budget) {
    return actions::ActionContext{.step_id = "notify",
                                  .runner = runner,
                                  .set_var = {},
                                  .log = {},
                                  .timeout = budget,
                                  .deadline = Clock::now() + budget};
  };

  // Coolify: each request gets what is left of the step, not a fresh 30 s.
  actions::coolify::ClientOptions options;
  options.url = server.url("");
  options.token = "coolify-token-123";
  options.deadline = Clock::now() + 2s;
  actions::coolify::Client client(options);
  auto started = Clock::now();
  auto version = client.version();
  CHECK_FALSE(version.has_value());
  CHECK(seconds_since(started) >= 1.8);
  CHECK(seconds_since(started) < 5.0);

  // A mail relay that never greets: the step's 2 s, not the action's 10 s default.
  auto mail_ctx = context(2s);
  started = Clock::now();
  auto mail = actions::notify::email_action().run(
      mail_ctx, actions::Params({{"smtp", fmt::format("smtp://127.0.0.1:{}", server.port())},
                                 {"from", "rollback@example.com"},
                                 {"to", nlohmann::json::array({"oncall@example.com"})},
                                 {"subject", "test"}}));
  CHECK_THAT(mail.message, Catch::Contains("not delivered"));
  CHECK(seconds_since(started) >= 1.8);
  CHECK(seconds_since(started) < 5.0);

  // A webhook step: an interrupt half a second in ends it within about a second.
  auto step_ctx = context(60s);
  std::thread interrupt([] {
    std::this_thread::sleep_for(500ms);
    proc::request_cancel();
  });
  started = Clock::now();
  auto hook = actions::notify::webhook_action().run(
      step_ctx,
      actions::Params({{"url", server.url("/hook")}, {"message", "rollback interrupted"}}));
  interrupt.join();
  CHECK_THAT(hook.message, Catch::Contains("not delivered"));
  CHECK(seconds_since(started) < 2.5);

  // The end-of-run notification of that interrupted run still goes out.
  auto healthy = testing::HttpServer::healthy();
  auto after_ctx = context(15s);
  after_ctx.survives_cancel = true;
  auto told = actions::notify::webhook_action().run(
      after_ctx,
      actions::Params({{"url", healthy->url("/hook")}, {"message", "rollback interrupted"}}));
  CHECK_THAT(told.message, Catch::Contains("notification sent"));
  CHECK(healthy->requests() == 1);
  proc::reset_cancel();
}
