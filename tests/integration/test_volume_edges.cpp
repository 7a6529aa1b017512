// The volume data path at the edges an incident hits (issue 24), on the real engine: an
// archive that cannot fit is refused before anything stops, a SIGKILLed backup leaves no
// container paused, a restore works from a read-only backup mount, and a copy of a cluster
// that was still initialising never passes for a backup.
#include <signal.h>
#include <sys/mount.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "cli_spawn.hpp"
#include "test_docker_support.hpp"

using dockertest::Harness;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A host folder mounted as it must be for the case (a small tmpfs, a read-only bind),
// unmounted whatever happens.
struct Mount {
  fs::path where;
  ~Mount() {
    if (!where.empty()) ::umount2(where.c_str(), MNT_DETACH);
  }
};

std::string paused_state(const std::string& container) {
  return testing::run_program({"docker", "inspect", "-f", "{{.State.Paused}}", container}).out;
}

json params(const std::string& volume, const fs::path& archive, json extra = json::object()) {
  json p{{"volume", volume}, {"archive", archive.string()}, {"image", dockertest::image()}};
  p.update(extra);
  return p;
}

}  // namespace

TEST_CASE("an archive that unpacks to 150 MB is refused for a 40 MB volume before anything stops, old data intact",
          "[docker][data][edges]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  // 40 MB that outlive any container: a host tmpfs under a bind volume.
  Mount small{dir / "small"};
  fs::create_directories(small.where);
  REQUIRE(::mount("tmpfs", small.where.c_str(), "tmpfs", 0, "size=40m") == 0);
  auto volume = dockertest::unique("rbedge-small");
  cleanup.volumes.push_back(volume);
  REQUIRE(dockertest::docker_rc({"volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt",
                                 "device=" + small.where.string(), volume}) == 0);
  dockertest::in_volume(volume, "echo patient-records > /data/old.txt");
  // A few KB of zstd that expand to 150 MB.
  auto big = dockertest::unique("rbedge-big");
  cleanup.volumes.push_back(big);
  REQUIRE(dockertest::docker_rc({"volume", "create", big}) == 0);
  dockertest::in_volume(big, "head -c 157286400 /dev/zero > /data/zeros");
  Harness h;
  REQUIRE(h.run("docker.volume.backup", params(big, dir / "big.tar.zst")).ok);

  // A plan that stops a container, then restores: preflight refuses, nothing stops.
  auto holder = dockertest::unique("rbedge-holder");
  cleanup.name_prefixes.push_back(holder);
  REQUIRE(dockertest::docker_rc({"run", "-d", "--name", holder, dockertest::image(), "sleep", "600"}) == 0);
  testing::write_text(dir / "p.yaml", fmt::format(R"(version: 1
name: too-big
steps:
  - id: stop
    action: docker.stop
    with: {{filter: {}}}
  - id: restore
    action: docker.volume.restore
    with: {{volume: {}, archive: {}, image: {}}}
)",
                                                   holder, volume, (dir / "big.tar.zst").string(), dockertest::image()));
  auto run = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "p.yaml").string(), "--yes"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 4);
  CHECK_THAT(run.out + run.err, Catch::Contains("no space left on volume " + volume) &&
                                    Catch::Contains("unpacks to 150.0MB"));
  CHECK(testing::run_program({"docker", "inspect", "-f", "{{.State.Running}}", holder}).out == "true\n");

  // The action on its own (no preflight): the helper checks the room before it empties.
  auto restored = h.run("docker.volume.restore", params(volume, dir / "big.tar.zst"));
  CHECK_FALSE(restored.ok);
  CHECK_THAT(restored.message, Catch::Contains("no space left on volume " + volume));
  CHECK_THAT(restored.message, !Catch::Contains("Broken pipe"));
  auto old = testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data:ro", dockertest::image(), "cat",
                                   "/data/old.txt"});
  CHECK(old.out == "patient-records\n");
}

TEST_CASE("SIGKILL during a backup leaves no container paused 10 s later", "[docker][data][edges]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbedge-kill");
  cleanup.volumes.push_back(volume);
  REQUIRE(dockertest::docker_rc({"volume", "create", volume}) == 0);
  dockertest::in_volume(volume, "head -c 400000000 /dev/urandom > /data/blob");
  auto db = dockertest::unique("rbedge-db");
  cleanup.name_prefixes.push_back(db);
  REQUIRE(dockertest::docker_rc({"run", "-d", "--name", db, "-v", volume + ":/data", dockertest::image(), "sleep",
                                 "600"}) == 0);
  testing::write_text(dir / "p.yaml", fmt::format(R"(version: 1
name: killed-backup
steps:
  - id: backup
    action: docker.volume.backup
    with: {{volume: {}, archive: {}, image: {}, compress: gzip, level: 6}}
)",
                                                   volume, (dir / "b" / "v.tar.gz").string(), dockertest::image()));
  auto bg = cli_test::spawn_rollback({"--state-dir", (dir / "state").string(), (dir / "p.yaml").string(), "--yes"},
                                     dir.path(), "run");
  REQUIRE(bg.pid > 0);
  bool seen_paused = false;
  for (auto until = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < until && !seen_paused;)
    seen_paused = paused_state(db) == "true\n";
  REQUIRE(seen_paused);
  ::kill(bg.pid, SIGKILL);
  CHECK(cli_test::wait_exit(bg.pid, 10s) == 128 + SIGKILL);
  std::this_thread::sleep_for(10s);
  CHECK(paused_state(db) == "false\n");
}

TEST_CASE("a restore reads its archive from a read-only mount, and a backup into one is refused in preflight",
          "[docker][data][edges]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto source = dockertest::unique("rbedge-ro-src");
  auto target = dockertest::unique("rbedge-ro-dst");
  cleanup.volumes = {source, target};
  for (const auto& v : {source, target}) REQUIRE(dockertest::docker_rc({"volume", "create", v}) == 0);
  dockertest::in_volume(source, "mkdir -p /data/d && echo hi > /data/d/f && echo cfg > /data/.hidden");
  dockertest::in_volume(target, "echo stale > /data/stale");
  Harness h;
  fs::create_directories(dir / "backups");
  REQUIRE(h.run("docker.volume.backup", params(source, dir / "backups" / "v.tar.zst")).ok);
  Mount ro{dir / "ro"};
  fs::create_directories(ro.where);
  REQUIRE(::mount((dir / "backups").c_str(), ro.where.c_str(), nullptr, MS_BIND, nullptr) == 0);
  REQUIRE(::mount(nullptr, ro.where.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0);
  auto archive = ro.where / "v.tar.zst";
  auto checked = h.preflight("docker.volume.restore", params(target, archive));
  INFO(checked.message);
  REQUIRE(checked.ok);
  auto restored = h.run("docker.volume.restore", params(target, archive));
  REQUIRE(restored.ok);
  CHECK(dockertest::volume_sums(target) == dockertest::volume_sums(source));
  for (const auto& channel : {"fifo", "api"}) {
    auto refused = h.preflight("docker.volume.backup", params(source, ro.where / "new.tar.zst", {{"channel", channel}}));
    CHECK_FALSE(refused.ok);
    CHECK_THAT(refused.message, Catch::Contains("is not writable") && Catch::Contains("Read-only file system"));
  }
}

TEST_CASE("a copy of a PostgreSQL data directory without pg_control fails its backup and never verifies",
          "[docker][data][edges]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbedge-initdb");
  cleanup.volumes.push_back(volume);
  REQUIRE(dockertest::docker_rc({"volume", "create", volume}) == 0);
  // What initdb has written before its last step: PG_VERSION, base/, no global/pg_control.
  dockertest::in_volume(volume, "mkdir -p /data/base/1 /data/global && echo 15 > /data/PG_VERSION && "
                                "echo 15 > /data/base/1/PG_VERSION && head -c 8192 /dev/zero > /data/global/1262");
  Harness h;
  auto backup = h.run("docker.volume.backup", params(volume, dir / "pg.tar.zst"));
  CHECK_FALSE(backup.ok);
  CHECK_THAT(backup.message, Catch::Contains("cannot start") && Catch::Contains("global/pg_control is missing"));
  CHECK_FALSE(fs::exists(dir / "pg.tar.zst"));
  // The runbook's own `tar czf` of it: a restore's preflight refuses it, as targets do.
  REQUIRE(testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data:ro", "-v", dir.path().string() + ":/out",
                                dockertest::image(), "tar", "czf", "/out/pg.tar.gz", "-C", "/data", "."})
              .exit_code == 0);
  auto target = dockertest::unique("rbedge-initdb-dst");
  cleanup.volumes.push_back(target);
  auto refused = h.preflight("docker.volume.restore", params(target, dir / "pg.tar.gz"));
  CHECK_FALSE(refused.ok);
  CHECK_THAT(refused.message, Catch::Contains("global/pg_control is missing"));
}
