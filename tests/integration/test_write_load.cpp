// The shipped backup plan run while the demo stack is written to (issue 24): pgbench -c 2
// against its PostgreSQL, a Redis writer and the api's own writes. The archives, restored
// into fresh volumes, start a PostgreSQL that pg_amcheck finds clean and a Redis that loads
// its AOF, and they hold what production held at the moment each container was paused.
//
// "The paused moment" is measured without trusting rollback: every row and key carries the
// server's clock when it was written (pgbench_history.mtime, app_writes.at, the Redis
// writer's value from TIME), and `docker events` says when the engine paused each container.
// Production keeps everything, so once the load stops it says how many rows and keys were
// written before the pause. The copy must hold exactly those, less at most one write per
// writer that the freeze caught in flight (begun before the pause, committed after it), and
// nothing written after the pause, while production went on writing after the unpause.
// One stack for the whole file: it is the slowest thing here.
#include <signal.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli_spawn.hpp"
#include "docker_stack.hpp"

namespace fs = std::filesystem;
using dockertest::Stack;

namespace {

// One sequential writer: the next key only once the last was acknowledged. The key's value is
// the server's clock (microseconds) when it was written; w:n counts the keys.
const char* kRedisWrite =
    "local n = redis.call('INCR', 'w:n') local t = redis.call('TIME') "
    "redis.call('SET', 'w:' .. n, string.format('%d%06d', t[1], t[2])) return n";
// ARGV[1] microseconds: how many keys were written before, and how many at or after it.
const char* kRedisSplit =
    "local before, after = 0, 0 for _, k in ipairs(redis.call('KEYS', 'w:[0-9]*')) do "
    "if tonumber(redis.call('GET', k)) < tonumber(ARGV[1]) then before = before + 1 else after = "
    "after + 1 end end "
    "return {before, after, tonumber(redis.call('GET', 'w:n') or 0)}";
// The values of w:1 .. w:ARGV[1], hashed: the same keys with the same values on both sides.
const char* kRedisDigest =
    "local v = {} for i = 1, tonumber(ARGV[1]) do v[i] = redis.call('GET', 'w:' .. i) or '' end "
    "return redis.sha1hex(table.concat(v, ','))";

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// pg_amcheck's progress ends with its totals; on a terminal it rewrites one line with \r.
std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of("\r\n ");
  if (end == std::string::npos) return "";
  auto start = text.find_last_of("\r\n", end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end + 1 - (start == std::string::npos ? 0 : start + 1));
}

std::string docker(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"docker"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = testing::run_program(argv);
  INFO("docker " << args.front() << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return trimmed(r.out);
}

std::vector<long long> numbers(const std::string& text) {
  std::vector<long long> out;
  for (const auto& w : dockertest::words(text)) out.push_back(std::stoll(w));
  return out;
}

// SQL in any container of the image (psql inside it).
std::string psql(const std::string& container, const std::string& sql) {
  return docker({"exec", container, "psql", "-X", "-q", "-tA", "-F", " ", "-v", "ON_ERROR_STOP=1",
                 "-U", "evolution_user", "-d", "evolution_staging", "-c", sql});
}

std::string redis_cli(const std::string& container, std::vector<std::string> command) {
  command.insert(command.begin(), {"exec", container, "redis-cli"});
  return docker(command);
}

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

// When the engine paused a container and unpaused it (epoch nanoseconds, as text): the last
// pause in `events`, lines of "ID ACTION TIMENANO".
struct Window {
  std::string paused, unpaused;
  std::string seconds(const std::string& ns) const {
    return ns.substr(0, ns.size() - 9) + "." + ns.substr(ns.size() - 9);
  }
  std::string pause_s() const { return seconds(paused); }
  std::string pause_us() const { return paused.substr(0, paused.size() - 3); }
};

Window window_of(const std::string& events, const std::string& container) {
  Window w;
  std::istringstream in(events);
  std::string id, action, at;
  while (in >> id >> action >> at) {
    if (!id.starts_with(container)) continue;
    if (action == "pause") w = {at, ""};
    if (action == "unpause" && !w.paused.empty() && w.unpaused.empty()) w.unpaused = at;
  }
  INFO("docker events:\n" << events);
  REQUIRE(!w.paused.empty());
  REQUIRE(!w.unpaused.empty());
  return w;
}

// A restore plan of the shipped actions: the latest backup's two archives into fresh volumes.
fs::path restore_plan(const Stack& s) {
  auto path = s.dir / "plans" / "restore-fresh.yaml";
  fs::create_directories(path.parent_path());
  testing::write_text(path, R"(version: 1
name: restore-fresh
kind: quick
vars: {backups: /backups, helper_image: local/busybox, db_volume: fresh_pgdata, cache_volume: fresh_data}
target:
  from: dir
  dir: ${backups}
  glob: staging-*
  default: latest
  require: [pgdata.tar.zst, data.tar.zst]
steps:
  - id: restore-volumes
    parallel:
      - id: restore-db-volume
        phase: restore
        action: docker.volume.restore
        with: {volume: "${db_volume}", archive: "${target.path}/pgdata.tar.zst", image: "${helper_image}"}
      - id: restore-cache-volume
        phase: restore
        action: docker.volume.restore
        with: {volume: "${cache_volume}", archive: "${target.path}/data.tar.zst", image: "${helper_image}"}
)");
  return path;
}

// The load, from the app's side (the api container): pgbench -c 2 and the Redis writer.
struct Load {
  std::string api;
  cli_test::Background pgbench, writer;

  Load(const Stack& s, std::string api_container) : api(std::move(api_container)) {
    // The api's environment names the database (PGHOST, PGUSER, PGDATABASE).
    docker({"exec", api, "pgbench", "-i", "-q"});
    pgbench = cli_test::spawn_program(
        {"docker", "exec", api, "pgbench", "-n", "-c", "2", "-T", "900"}, s.dir.path(), "pgbench");
    writer = cli_test::spawn_program(
        {"docker", "exec", api, "sh", "-c", "redis-cli -h store -r -1 EVAL \"$1\" 0 >/dev/null",
         "writer", kRedisWrite},
        s.dir.path(), "redis-writer");
    REQUIRE((pgbench.pid > 0 && writer.pid > 0));
  }

  // Until pgbench, the api's loop and the writer have each written for a while.
  void wait_flowing(const std::string& postgres, const std::string& store) const {
    bool flowing = eventually(
        [&] {
          auto pg =
              testing::run_program({"docker", "exec", postgres, "psql", "-X", "-tA", "-U",
                                    "evolution_user", "-d", "evolution_staging", "-c",
                                    "SELECT (SELECT count(*) FROM pgbench_history) >= 200 AND "
                                    "(SELECT count(*) FROM app_writes) >= 3"});
          auto keys = testing::run_program({"docker", "exec", store, "redis-cli", "GET", "w:n"});
          return trimmed(pg.out) == "t" && std::atoll(keys.out.c_str()) >= 200;
        },
        std::chrono::seconds(90));
    INFO(testing::read_text(pgbench.err) << testing::read_text(writer.err));
    REQUIRE(flowing);
  }

  void stop() const {
    docker({"exec", api, "killall", "pgbench", "redis-cli"});
    cli_test::wait_exit(pgbench.pid);
    cli_test::wait_exit(writer.pid);
  }
};

// The shipped backup plan, while `docker events` records the engine's own view of the
// pauses (from a second before it starts); what the events said.
std::string back_up_recording_pauses(const Stack& s, const std::string& postgres,
                                     const std::string& store) {
  auto events = cli_test::spawn_program(
      {"docker", "events", "--since", std::to_string(std::time(nullptr) - 1), "--filter",
       "container=" + postgres, "--filter", "container=" + store, "--filter", "event=pause",
       "--filter", "event=unpause", "--format", "{{.Actor.ID}} {{.Action}} {{.TimeNano}}"},
      s.dir.path(), "events");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  testing::CommandResult backup;
  for (int attempt = 0; attempt < 3; ++attempt) {
    backup = s.rollback("backup");
    // `docker pause` of a busy container can fail with "unable to freeze" (a cgroup freeze
    // racing a healthcheck's exec; issue 24 has the engine retry it). Not this test's
    // subject: the windows used are those of the backup that succeeded.
    std::cout << "backup attempt " << attempt + 1 << ": exit " << backup.exit_code << "\n";
    if (backup.exit_code == 0 ||
        (backup.out + backup.err).find("unable to freeze") == std::string::npos)
      break;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // production writes on after the unpause
  ::kill(events.pid, SIGTERM);
  cli_test::wait_exit(events.pid);
  REQUIRE(backup.exit_code == 0);
  return testing::read_text(events.out);
}

// Rows and keys written before the pause of their container, and at or after it.
struct Counts {
  long long history = 0, app = 0, keys = 0;
};
struct Split {
  Counts before, after;
  long long key_counter = 0;  // w:n
};

Split split_at(const std::string& pg_container, const std::string& redis_container,
               const Window& pg, const Window& cache) {
  auto rows = [&](const std::string& table, const std::string& column, const std::string& cast) {
    auto at = "to_timestamp(" + pg.pause_s() + ")" + cast;
    return numbers(psql(pg_container, "SELECT count(*) FILTER (WHERE " + column + " < " + at +
                                          "), count(*) FILTER "
                                          "(WHERE " +
                                          column + " >= " + at + ") FROM " + table));
  };
  auto history =
      rows("pgbench_history", "mtime", "::timestamp");  // a timestamp in the server's zone
  auto app = rows("app_writes", "at", "");
  auto keys = numbers(redis_cli(redis_container, {"EVAL", kRedisSplit, "0", cache.pause_us()}));
  REQUIRE((history.size() == 2 && app.size() == 2 && keys.size() == 3));
  return {{history[0], app[0], keys[0]}, {history[1], app[1], keys[1]}, keys[2]};
}

// The latest backup restored into fresh volumes by the shipped restore action, then a
// PostgreSQL and a Redis started on them (IDs).
struct Copies {
  std::string pg, redis;
};

Copies restore_fresh(Stack& s) {
  const std::string fresh = s.project + "_fresh";
  s.cleanup.volumes.insert(s.cleanup.volumes.end(), {fresh + "_pgdata", fresh + "_data"});
  s.cleanup.name_prefixes.push_back(fresh);
  auto restored = testing::run_rollback(
      {"--state-dir", (s.dir / "state").string(), restore_plan(s).string(), "--var",
       "backups=" + s.backups.string(), "--var", "helper_image=" + dockertest::image(), "--var",
       "db_volume=" + fresh + "_pgdata", "--var", "cache_volume=" + fresh + "_data", "--target",
       "latest", "--yes"});
  INFO(restored.out << restored.err);
  REQUIRE(restored.exit_code == 0);
  return {docker({"run", "-d", "--name", fresh + "_pg", "--network", "none", "-v",
                  fresh + "_pgdata:/var/lib/postgresql/data", dockertest::kPostgresImage}),
          docker({"run", "-d", "--name", fresh + "_redis", "--network", "none", "-v",
                  fresh + "_data:/data", dockertest::kRedisImage, "--dir", "/data", "--appendonly",
                  "yes", "--appendfsync", "always", "--save", ""})};
}

// PostgreSQL starts on the copy (crash recovery: the files of a live cluster) and
// pg_amcheck finds nothing wrong; its last progress line.
std::string check_postgres(const std::string& copy) {
  bool ready = eventually(
      [&] {
        return dockertest::docker_rc({"exec", copy, "pg_isready", "-q", "-U", "evolution_user",
                                      "-d", "evolution_staging"}) == 0;
      },
      std::chrono::seconds(120));
  auto log = testing::run_program({"docker", "logs", copy});
  INFO(log.out << log.err);
  REQUIRE(ready);
  auto amcheck = testing::run_program({"docker", "exec", copy, "pg_amcheck", "--all",
                                       "--install-missing", "--heapallindexed", "--progress", "-U",
                                       "evolution_user", "--maintenance-db", "evolution_staging"});
  INFO("pg_amcheck:\n" << amcheck.out << amcheck.err);
  CHECK(amcheck.exit_code == 0);
  CHECK(amcheck.out.empty());  // it prints only what it finds wrong
  // TPC-B's invariant: each transaction moved the same delta in all four tables, or none did.
  CHECK(psql(copy,
             "SELECT count(DISTINCT s) FROM (SELECT sum(abalance) s FROM pgbench_accounts UNION "
             "ALL SELECT "
             "sum(bbalance) FROM pgbench_branches UNION ALL SELECT sum(tbalance) FROM "
             "pgbench_tellers UNION "
             "ALL SELECT sum(delta) FROM pgbench_history) sums") == "1");
  return "exit " + std::to_string(amcheck.exit_code) + ", " + last_line(amcheck.err);
}

// Redis on the copy loads its AOF, all of it; the log's "loaded from" lines.
std::string check_redis(const std::string& copy) {
  bool ready =
      eventually([&] { return redis_cli(copy, {"PING"}) == "PONG"; }, std::chrono::seconds(120));
  auto log = testing::run_program({"docker", "logs", copy});
  INFO(log.out << log.err);
  REQUIRE(ready);
  CHECK_THAT(log.out, Catch::Contains("DB loaded from append only file"));
  CHECK_THAT(log.out, !Catch::Contains("truncated") && !Catch::Contains("Bad file format"));
  CHECK_THAT(redis_cli(copy, {"INFO", "persistence"}),
             Catch::Contains("aof_enabled:1") && Catch::Contains("loading:0"));
  std::string loaded, line;
  for (std::istringstream lines(log.out); std::getline(lines, line);)
    if (line.find("loaded from") != std::string::npos) loaded += "redis: " + line + "\n";
  return loaded;
}

bool at_most_in_flight(long long production, long long copy, long long writers) {
  return production - copy >= 0 && production - copy <= writers;
}

}  // namespace

TEST_CASE(
    "a backup under write load restores to a PostgreSQL that pg_amcheck finds clean and a Redis "
    "that loads "
    "its AOF, with the rows and keys of the moment each was paused",
    "[docker][e2e][load]") {
  Stack s("0.2");  // the api writes a row and a Redis INCR every 0.2 s
  s.up_and_seed();
  const auto postgres = s.container("postgres"), store = s.container("store");
  Load load(s, s.container("api"));
  load.wait_flowing(postgres, store);
  const auto events = back_up_recording_pauses(s, postgres, store);
  load.stop();
  const auto pg = window_of(events, postgres), cache = window_of(events, store);
  // Production kept every write: it says what was written before each pause.
  const auto production = split_at(postgres, store, pg, cache);
  CHECK(production.after.history > 0);  // the load was live across the backup, not stopped by it
  CHECK(production.after.keys > 0);

  const auto copies = restore_fresh(s);
  const auto amcheck = check_postgres(copies.pg);
  const auto loaded = check_redis(copies.redis);

  // The copy: nothing from after the pause, all from before it but what a writer had in
  // flight when frozen (pgbench has 2 clients, the api's loop and the Redis writer 1 each).
  const auto copy = split_at(copies.pg, copies.redis, pg, cache);
  CHECK(copy.after.history == 0);
  CHECK(copy.after.app == 0);
  CHECK(copy.after.keys == 0);
  CHECK(at_most_in_flight(production.before.history, copy.before.history, 2));
  CHECK(at_most_in_flight(production.before.app, copy.before.app, 1));
  CHECK(at_most_in_flight(production.before.keys, copy.before.keys, 1));
  CHECK(copy.before.keys ==
        copy.key_counter);  // w:1 .. w:n without a gap: each write whole or absent
  auto n = std::to_string(copy.key_counter);  // and the same values as production's first n
  CHECK(redis_cli(copies.redis, {"EVAL", kRedisDigest, "0", n}) ==
        redis_cli(store, {"EVAL", kRedisDigest, "0", n}));

  std::cout << "write load: pgbench_history " << production.before.history
            << " rows before the pause (" << production.after.history << " after), the copy "
            << copy.before.history << "; app_writes " << production.before.app << " ("
            << production.after.app << " after), the copy " << copy.before.app << "; Redis w:* "
            << production.before.keys << " keys before the pause (" << production.after.keys
            << " after), the copy " << copy.before.keys << "\npg_amcheck --all: " << amcheck << "\n"
            << loaded;
}
