// docker.* actions against a recording fake runner: which commands they build, in which
// order, and what they refuse to run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <rollback/actions/docker_common.hpp>
#include <rollback/proc/runner.hpp>

#include <fstream>

#include <rollback/util/archive.hpp>
#include <rollback/util/runtime_dir.hpp>
#include <rollback/util/time.hpp>

#include "support/tar_builder.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;
using nlohmann::json;

namespace {

// Answers each command with the first rule whose prefix matches its argv; records all.
class FakeRunner final : public proc::Runner {
 public:
  struct Rule {
    std::vector<std::string> prefix;
    int exit_code = 0;
    std::string out, err;
    std::function<void(const proc::Command&)> effect;  // what the command would do (read a FIFO)
  };
  std::vector<Rule> rules;
  std::vector<std::vector<std::string>> calls;

  Result<proc::Completed> run(const proc::Command& command) override {
    std::lock_guard lock(mutex_);  // compose up runs `config --services` on a second thread
    calls.push_back(command.argv);
    for (const auto& rule : rules) {
      if (rule.prefix.size() > command.argv.size()) continue;
      if (!std::equal(rule.prefix.begin(), rule.prefix.end(), command.argv.begin())) continue;
      if (rule.effect) rule.effect(command);
      proc::Completed done;
      done.exit_code = rule.exit_code;
      done.out = rule.out;
      done.err = rule.err;
      return done;
    }
    proc::Completed done;
    done.exit_code = 0;
    return done;
  }
  std::mutex mutex_;
  bool called(const std::vector<std::string>& prefix) const {
    for (const auto& argv : calls)
      if (argv.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), argv.begin())) return true;
    return false;
  }
};

struct Fixture {
  FakeRunner runner;
  actions::ActionContext ctx{.step_id = "s1", .runner = runner, .set_var = {}, .log = {}};
  Fixture() { actions::docker::forget_compose_cli(); }
  actions::Outcome run(const std::string& name, json params) {
    return actions::builtin_registry().find(name)->run(ctx, actions::Params(std::move(params)));
  }
};

}  // namespace

// PATH set to one directory for the scope of a test, restored after.
class PathOverride {
 public:
  explicit PathOverride(const std::filesystem::path& dir) : saved_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", dir.c_str(), 1);
  }
  ~PathOverride() { ::setenv("PATH", saved_.c_str(), 1); }

 private:
  std::string saved_;
};

TEST_CASE("compose falls back to docker-compose v1 when the v2 plugin is absent", "[docker]") {
  testing::TempDir dir;
  testing::write_text(dir / "docker-compose.yml", "services: {}\n");
  testing::write_text(dir / "bin" / "docker-compose", "#!/bin/sh\n");
  std::filesystem::permissions(dir / "bin" / "docker-compose", std::filesystem::perms::owner_all);
  PathOverride path(dir / "bin");
  Fixture f;
  f.runner.rules = {{{"docker", "compose", "version"}, 1, "", "docker: unknown command: docker compose"}};
  auto outcome = f.run("docker.compose", {{"dir", dir.path().string()}, {"project", "p"}, {"command", "down"},
                                          {"remove_orphans", true}, {"volumes", true}});
  REQUIRE(outcome.ok);
  CHECK(f.runner.calls.back() ==
        std::vector<std::string>{"docker-compose", "-p", "p", "down", "--remove-orphans", "--volumes"});
}

TEST_CASE("compose uses the v2 plugin when it answers, with the context as docker's option", "[docker]") {
  testing::TempDir dir;
  testing::write_text(dir / "compose.yaml", "services: {}\n");
  testing::write_text(dir / "docker-config" / "cli-plugins" / "docker-compose", "");
  std::string saved = std::getenv("DOCKER_CONFIG") ? std::getenv("DOCKER_CONFIG") : "";
  ::setenv("DOCKER_CONFIG", (dir / "docker-config").c_str(), 1);
  Fixture f;
  auto outcome = f.run("docker.compose", {{"dir", dir.path().string()}, {"context", "prod"}, {"command", "logs"},
                                          {"tail", 50}, {"services", {"api"}}});
  REQUIRE(outcome.ok);
  if (saved.empty()) ::unsetenv("DOCKER_CONFIG");
  else ::setenv("DOCKER_CONFIG", saved.c_str(), 1);
  CHECK(f.runner.calls.back() ==
        std::vector<std::string>{"docker", "--context", "prod", "compose", "logs", "--no-color", "--tail=50", "--", "api"});
  CHECK_FALSE(f.runner.called({"docker-compose"}));
}

TEST_CASE("compose names both flavours when neither is installed", "[docker]") {
  testing::TempDir dir;
  testing::write_text(dir / "docker-compose.yml", "services: {}\n");
  std::filesystem::create_directories(dir / "empty-bin");
  PathOverride path(dir / "empty-bin");
  Fixture f;
  f.runner.rules = {{{"docker", "compose", "version"}, 1, "", "docker: unknown command: docker compose"}};
  auto outcome = f.run("docker.compose", {{"dir", dir.path().string()}, {"command", "ps"}});
  CHECK_FALSE(outcome.ok);
  CHECK(outcome.message ==
        "step s1: no Docker Compose found: `docker compose` (v2 plugin) does not answer `version` and "
        "`docker-compose` (v1) is not on PATH; install one of them");
}

TEST_CASE("restore refuses a missing archive without running docker", "[docker]") {
  testing::TempDir dir;
  Fixture f;
  auto outcome = f.run("docker.volume.restore",
                       {{"volume", "v"}, {"archive", (dir / "gone.tar.gz").string()}, {"image", "alpine:3"}});
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::StartsWith("step s1: archive "));
  CHECK(f.runner.calls.empty());
}

// A helper container's `tar xf /stream/fifo`: reads the FIFO the restore writes, to its end.
void read_restore_fifo(const proc::Command& command) {
  const auto& a = command.argv;
  std::string host_dir;
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == "-v" && a[i + 1].ends_with(":/stream")) host_dir = a[i + 1].substr(0, a[i + 1].find(':'));
  std::ifstream fifo(std::filesystem::path(host_dir) / "fifo", std::ios::binary);
  std::string drained((std::istreambuf_iterator<char>(fifo)), std::istreambuf_iterator<char>());
}

TEST_CASE("restore checks archive, image and that nothing uses the volume before creating or extracting",
          "[docker]") {
  testing::TempDir dir;
  testing::write_archive(dir / "v.tar.gz", {{"records.txt", "patient-1\n"}});
  Fixture f;
  f.runner.rules = {{{"docker", "volume", "inspect"}, 1, "", "Error response from daemon: get v: no such volume"},
                    {{"docker", "run"}, 0, "", "", read_restore_fifo}};
  auto outcome = f.run("docker.volume.restore", {{"volume", "v"}, {"archive", (dir / "v.tar.gz").string()}});
  INFO(outcome.message);
  REQUIRE(outcome.ok);
  REQUIRE(f.runner.calls.size() == 5);
  CHECK(f.runner.calls[0] == std::vector<std::string>{"docker", "image", "inspect", "--format", "{{.Id}}", "alpine:3"});
  CHECK(std::vector<std::string>(f.runner.calls[1].begin(), f.runner.calls[1].begin() + 4) ==
        std::vector<std::string>{"docker", "ps", "--filter", "volume=v"});
  CHECK(f.runner.calls[2][2] == "inspect");
  CHECK(f.runner.calls[3] == std::vector<std::string>{"docker", "volume", "create", "--", "v"});
  // The helper is named after the run and step (with a random tail) and labelled, so a
  // cleanup can find it; it only runs tar on a FIFO the host fills (no gzip needed in it).
  // The FIFO lives in a private folder of the runtime dir, not beside the archive (whose
  // folder may be a read-only mount), and the helper checks the room before it extracts.
  const auto& run = f.runner.calls[4];
  REQUIRE(run.size() == 21);
  CHECK(std::vector<std::string>(run.begin(), run.begin() + 4) == std::vector<std::string>{"docker", "run", "--rm", "--name"});
  CHECK_THAT(run[4], Catch::StartsWith("rb-adhoc-"));
  CHECK(std::vector<std::string>(run.begin() + 5, run.begin() + 15) ==
        std::vector<std::string>{"--network", "none", "--label", run[8], "--label", "rollback.step=s1", "-v", "v:/data",
                                 "-v", run[14]});
  CHECK_THAT(run[14], Catch::StartsWith((rollback::runtime_dir() / "stream-").string()) && Catch::EndsWith(":/stream"));
  CHECK(std::vector<std::string>(run.begin() + 15, run.begin() + 18) == std::vector<std::string>{"alpine:3", "sh", "-c"});
  CHECK_THAT(run[18], Catch::Contains("df -Pk /data") && Catch::EndsWith("tar xf /stream/fifo -C /data"));
  CHECK(run[19] == "restore");
  CHECK(std::stoull(run[20]) >= 4);  // $1: the unpacked size in KiB, at least one entry's block
  CHECK_THAT(run[8], Catch::StartsWith("rollback.run=adhoc-"));
}

TEST_CASE("an archive proved whole once is proved again only after it changed", "[docker]") {
  testing::TempDir dir;
  auto archive = dir / "v.tar.zst";
  testing::write_archive(archive, {{"a", "1"}});
  Fixture f;
  f.runner.rules = {{{"docker", "run"}, 0, "", "", read_restore_fifo}};
  auto restore = [&] { return f.run("docker.volume.restore", {{"volume", "v"}, {"archive", archive.string()}}); };
  REQUIRE(restore().ok);
  auto first = rollback::proven_archive(archive);
  REQUIRE(first);
  REQUIRE(restore().ok);
  testing::write_archive(archive, {{"a", "2, changed in place"}});
  CHECK_FALSE(rollback::proven_archive(archive));  // the proof fell with the change
  REQUIRE(restore().ok);
  auto again = rollback::proven_archive(archive);
  REQUIRE(again);
  CHECK(again->sha256 != first->sha256);
}

TEST_CASE("a damaged archive stops the restore before any docker command", "[docker]") {
  testing::TempDir dir;
  testing::write_text(dir / "junk.tar.gz", "garbage");
  testing::write_archive(dir / "cut.tar.zst", {{"big", std::string(200000, 'x')}});
  auto whole = testing::read_text(dir / "cut.tar.zst");
  testing::write_text(dir / "cut.tar.zst", whole.substr(0, whole.size() / 2));
  for (const auto& [name, why] : {std::pair{"junk.tar.gz", "is not a tar archive"}, std::pair{"cut.tar.zst", "truncated"}}) {
    Fixture f;
    auto outcome = f.run("docker.volume.restore", {{"volume", "v"}, {"archive", (dir / name).string()}});
    CHECK_FALSE(outcome.ok);
    CHECK_THAT(outcome.message, Catch::Contains(why));
    CHECK_FALSE(f.runner.called({"docker"}));
  }
}

TEST_CASE("docker.stop with nothing running succeeds without calling docker stop", "[docker]") {
  Fixture f;
  auto outcome = f.run("docker.stop", {{"filter", "agentsalud"}});
  REQUIRE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("no running containers match"));
  CHECK_FALSE(f.runner.called({"docker", "stop"}));
}

TEST_CASE("a name filter is a prefix anchored at a word boundary", "[docker]") {
  using actions::docker::name_selected;
  for (const char* name :
       {"staging", "staging-api-1", "staging_api_1", "/staging_api_1", "staging.1.x4f"})
    CHECK(name_selected("staging", name));
  for (const char* name : {"staging2", "prod-staging", "stagingapi", "stag", ""})
    CHECK_FALSE(name_selected("staging", name));
  CHECK(name_selected("rbdemo_",
                      "rbdemo_api_1"));  // a filter ending in a separator is its own boundary
  CHECK_FALSE(name_selected("rbdemo_", "rbdemo2_api_1"));
  CHECK(name_selected("agentsalud-staging", "agentsalud-staging_postgres_1"));
  CHECK_FALSE(name_selected("agentsalud-staging", "agentsalud-staging2_postgres_1"));
  CHECK_FALSE(name_selected("", "anything"));
}

TEST_CASE("docker.stop stops only what its filter selects, names them, and a dry run lists them", "[docker]") {
  Fixture f;
  // docker's own name filter matched every name holding "staging".
  f.runner.rules = {
      {{"docker", "ps"},
       0,
       "id1\tstaging\nid2\tstaging2\nid3\tprod-staging\nid4\tstaging-api-1\nid5\tstaging_api_1\n",
       ""}};
  auto outcome = f.run("docker.stop", {{"filter", {"staging"}}});
  REQUIRE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("stopped 3 container(s)") &&
                                  Catch::Contains("staging, staging-api-1, staging_api_1"));
  CHECK(f.runner.called({"docker", "stop", "id1", "id4", "id5"}));
  CHECK_FALSE(f.runner.called({"docker", "stop", "id1", "id2"}));

  const auto& stop = *actions::builtin_registry().find("docker.stop");
  REQUIRE(stop.preview);
  auto preview = stop.preview(f.ctx, actions::Params(json{{"filter", {"staging"}}}));
  CHECK(preview.message == "would stop 3 container(s): staging, staging-api-1, staging_api_1");
}

TEST_CASE("docker.stop with require: true fails preflight when its filter selects no container", "[docker]") {
  Fixture f;
  f.runner.rules = {{{"docker", "ps"}, 0, "id2\tstaging2\nid3\tprod-staging\n", ""}};
  const auto& stop = *actions::builtin_registry().find("docker.stop");
  auto refused =
      stop.preflight(f.ctx, actions::Params(json{{"filter", {"staging"}}, {"require", true}}));
  CHECK_FALSE(refused.ok);
  CHECK_THAT(refused.message, Catch::Contains("no container matches name~staging (require: true)"));
  CHECK(f.runner.called({"docker", "ps", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}", "-a"}));
  CHECK(stop.preflight(f.ctx, actions::Params(json{{"filter", {"staging"}}}))
            .ok);  // not required: nothing to stop is fine
}

TEST_CASE("docker.ps fails while a container it selects is paused", "[docker]") {
  Fixture f;
  f.runner.rules = {{{"docker", "ps"}, 0, "id1\tapp_postgres_1\nid2\tapp_api_1\n", ""},
                    {{"docker", "inspect"},
                     0,
                     R"([{"Id": "id1", "Name": "/app_postgres_1", "State": {"Status": "paused"},
            "Config": {"Labels": {"com.docker.compose.service": "postgres"}}},
           {"Id": "id2", "Name": "/app_api_1", "State": {"Status": "running"},
            "Config": {"Labels": {"com.docker.compose.service": "api"}}}])",
                     ""}};
  auto listed = f.run("docker.ps", {{"filter", {"app"}}});
  CHECK_FALSE(listed.ok);
  CHECK_THAT(listed.message, Catch::Contains("paused") && Catch::Contains("app_postgres_1"));
  auto expected = f.run("docker.ps", {{"filter", {"app"}}, {"expect_running", {"api"}}});
  CHECK_FALSE(expected.ok);  // the one expected is up, but the database behind it answers nothing
  auto seen = std::find_if(expected.observations.begin(), expected.observations.end(),
                           [](const auto& o) { return o.name == "app_postgres_1"; });
  REQUIRE(seen != expected.observations.end());
  CHECK(seen->value == "paused");
  CHECK_FALSE(seen->ok);
}

// The engine's event log holds its last 256 events only: on a busy engine it reaches back
// seconds, not the crash-loop window. Then a container created within the window counts its
// RestartCount, and any other's count is said to be a lower bound.
TEST_CASE("docker.ps max_restarts counts deaths past the end of the engine's short event log", "[docker]") {
  using namespace std::chrono;
  auto at = [](auto ago) { return format_iso_utc(system_clock::now() - ago); };
  auto nanos = [](auto ago) {
    return std::to_string(duration_cast<nanoseconds>((system_clock::now() - ago).time_since_epoch()).count());
  };
  auto inspect = [&](auto created) {
    return json::array({{{"Id", "c1"}, {"Name", "/app_api_1"}, {"Created", at(created)}, {"RestartCount", 7},
                         {"State", {{"Status", "restarting"}, {"Restarting", true}}}}})
        .dump();
  };
  // Four seconds of healthcheck execs, then one death of c1.
  std::string log = nanos(seconds(4)) + " container c2 exec_start: pg_isready -q\n" + nanos(seconds(1)) +
                    " container c1 die\n";
  Fixture f;
  f.runner.rules = {{{"docker", "ps"}, 0, "c1\tapp_api_1\n", ""},
                    {{"docker", "events"}, 0, log, ""},
                    {{"docker", "inspect"}, 0, inspect(seconds(30)), ""}};
  auto fresh = f.run("docker.ps", {{"filter", {"app"}}, {"max_restarts", 2}, {"within", "10m"}});
  CHECK_FALSE(fresh.ok);  // created 30 s ago: all 7 restarts fall in the window
  CHECK_THAT(fresh.message, Catch::Contains("app_api_1 died 7 times in the last 10m00s (more than 2)"));

  f.runner.rules[2].out = inspect(hours(2));
  auto old = f.run("docker.ps", {{"filter", {"app"}}, {"max_restarts", 2}, {"within", "10m"}});
  CHECK(old.ok);  // 7 restarts since two hours ago say nothing of the last ten minutes
  REQUIRE_FALSE(old.observations.empty());
  CHECK_THAT(old.observations.back().value,
             Catch::StartsWith("at least 1 in 10m00s (the engine's event log reaches back 4"));

  // A log that reaches back past the window is exact, whatever RestartCount says.
  f.runner.rules[1].out = nanos(minutes(11)) + " container c2 exec_start: true\n" + log;
  auto whole = f.run("docker.ps", {{"filter", {"app"}}, {"max_restarts", 2}, {"within", "10m"}});
  CHECK(whole.ok);
  CHECK(whole.observations.back().value == "1 in 10m00s");
}

TEST_CASE("the daemon-unreachable message names the step and the host", "[docker]") {
  Fixture f;
  f.runner.rules = {{{"docker"}, 1, "",
                     "Cannot connect to the Docker daemon at tcp://10.0.0.9:2375. Is the docker daemon running?"}};
  auto outcome = f.run("docker.volume.create", {{"volume", "v"}, {"host", "tcp://10.0.0.9:2375"}});
  CHECK_FALSE(outcome.ok);
  CHECK(outcome.transient);
  CHECK(outcome.message ==
        "step s1: Docker daemon not reachable at tcp://10.0.0.9:2375: is dockerd running? "
        "(docker volume create -- v failed)");
}

TEST_CASE("describe shows the equivalent command lines", "[docker]") {
  const auto& registry = actions::builtin_registry();
  auto describe = [&](const std::string& name, json params) {
    return registry.find(name)->describe(actions::Params(std::move(params)));
  };
  CHECK(describe("docker.volume.backup", {{"volume", "pg"}, {"archive", "/b/pg.tar.gz"}}) ==
        "pause the containers using it, tar the volume pg in a alpine:3 helper, through a FIFO in the runtime dir " +
            rollback::runtime_dir().string() + "; compress (gzip) and hash on the host into /b/pg.tar.gz");
  CHECK(describe("docker.compose", {{"dir", "/s"}, {"command", "down"}, {"remove_orphans", true}}) ==
        "docker-compose down --remove-orphans  (in /s)");
  CHECK(describe("docker.stop", {{"filter", "agentsalud"}}) ==
        "docker stop $(docker ps -q --filter name=agentsalud); only names agentsalud, "
        "agentsalud[-_.]*");
  CHECK(registry.find("docker.volume.restore")->destructive);
  CHECK(registry.find("docker.ps")->read_only);
}

TEST_CASE("the registry refuses a second action with a name already taken", "[actions]") {
  rollback::actions::Registry registry;
  rollback::actions::Action a;
  a.name = "x.y";
  registry.add(a);
  CHECK_THROWS_AS(registry.add(a), std::logic_error);
  CHECK(registry.schema("x.y") != nullptr);
  for (const auto* action : rollback::actions::builtin_registry().all())
    CHECK(rollback::actions::builtin_registry().schema(action->name) != nullptr);
}
