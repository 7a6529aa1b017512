// The volume data path on the real engine (issue 13): every archive format round-trips the
// exact tree, damaged archives stop before the volume is touched, the helper needs no
// gzip, volumes in use are refused (restore) or paused (backup), files are owner-only.
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include <rollback/util/text.hpp>

#include "cli_spawn.hpp"
#include "test_docker_support.hpp"

using dockertest::Harness;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Symlinks, an empty dir, modes, owners and a hard link: what a database volume holds.
const char* kTree =
    "mkdir -p /data/d/empty /data/pg && echo hi > /data/d/f && ln -s f /data/d/link && ln /data/d/f /data/d/hard && "
    "head -c 400000 /dev/urandom > /data/pg/base && chmod 600 /data/pg/base && chown 999:999 /data/pg /data/pg/base && "
    "chmod 1777 /data/d/empty && echo cfg > /data/.hidden";

// Every entry with its type, mode, owner, size, link count and target; then each file's sum.
std::string tree_of(const std::string& volume) {
  auto r = testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data:ro", dockertest::image(), "sh", "-c",
                                 "cd /data && find . -exec stat -c '%n %F %a %u %g %s %h %N' {} \\; | sort && "
                                 "find . -type f -exec md5sum {} \\; | sort"});
  REQUIRE(r.exit_code == 0);
  return r.out;
}

struct Volumes {
  dockertest::Cleanup cleanup;
  std::string make(const std::string& stem) {
    auto v = dockertest::unique(stem);
    cleanup.volumes.push_back(v);
    REQUIRE(dockertest::docker_rc({"volume", "create", v}) == 0);
    return v;
  }
};

json params(const std::string& volume, const fs::path& archive, json extra = json::object()) {
  json p{{"volume", volume}, {"archive", archive.string()}, {"image", dockertest::image()}};
  p.update(extra);
  return p;
}

}  // namespace

TEST_CASE(".tar.zst, .tar.gz and .tar round trips give the exact tree: links, empty dirs, modes, owners",
          "[docker][data]") {
  dockertest::require_engine();
  testing::TempDir dir;
  Volumes v;
  auto source = v.make("rbrt-src");
  dockertest::in_volume(source, kTree);
  auto expected = tree_of(source);
  Harness h;
  for (const char* name : {"v.tar.zst", "v.tar.gz", "v.tar"}) {
    INFO(name);
    auto backup = h.run("docker.volume.backup", params(source, dir / name));
    REQUIRE(backup.ok);
    CHECK(backup.data["format"] == (std::string(name) == "v.tar.zst" ? "zstd" : name == std::string("v.tar") ? "none" : "gzip"));
    auto target = v.make("rbrt-dst");
    dockertest::in_volume(target, "echo stale > /data/stale");  // must not survive the restore
    REQUIRE(h.run("docker.volume.restore", params(target, dir / name)).ok);
    CHECK(tree_of(target) == expected);
  }
  // The API channel (a remote engine's) gives the same tree.
  auto via_api = v.make("rbrt-api");
  REQUIRE(h.run("docker.volume.backup", params(source, dir / "api.tar.zst", {{"channel", "api"}})).ok);
  REQUIRE(h.run("docker.volume.restore", params(via_api, dir / "api.tar.zst", {{"channel", "api"}})).ok);
  CHECK(tree_of(via_api) == expected);
}

TEST_CASE("the runbook's own tar czf archive restores exactly, with a helper image that has no gzip",
          "[docker][data]") {
  dockertest::require_engine();
  testing::TempDir dir;
  Volumes v;
  auto source = v.make("rbrb-src");
  dockertest::in_volume(source, kTree);
  fs::create_directories(dir / "backup");
  REQUIRE(testing::run_program({"docker", "run", "--rm", "-v", source + ":/data", "-v", (dir / "backup").string() + ":/backup",
                                dockertest::image(), "tar", "czf", "/backup/data.tar.gz", "-C", "/data", "."})
              .exit_code == 0);
  // A helper image without gzip: the host decompresses, the helper only runs tar.
  auto stripped = dockertest::unique("rb-nogzip");
  auto maker = dockertest::unique("rb-nogzip-maker");
  REQUIRE(dockertest::docker_rc({"run", "--name", maker, dockertest::image(), "rm", "-f", "/bin/gzip", "/bin/gunzip",
                                 "/bin/zcat"}) == 0);
  REQUIRE(dockertest::docker_rc({"commit", maker, stripped + ":test"}) == 0);
  dockertest::docker_rc({"rm", "-f", maker});
  REQUIRE(dockertest::docker_rc({"run", "--rm", stripped + ":test", "gzip", "--help"}) != 0);
  auto target = v.make("rbrb-dst");
  dockertest::in_volume(target, "echo stale > /data/stale");
  Harness h;
  // The plan names the new default, .tar.zst: the runbook's .tar.gz beside it is found.
  auto restored = h.run("docker.volume.restore", {{"volume", target}, {"archive", (dir / "backup/data.tar.zst").string()},
                                                  {"image", stripped + ":test"}});
  dockertest::docker_rc({"rmi", "-f", stripped + ":test"});
  INFO(restored.message);
  REQUIRE(restored.ok);
  CHECK_THAT(restored.message, Catch::Contains("data.tar.gz (gzip)"));
  CHECK(tree_of(target) == tree_of(source));
}

TEST_CASE("a restore under a running container is refused with the volume untouched, force overrides it",
          "[docker][data]") {
  dockertest::require_engine();
  testing::TempDir dir;
  Volumes v;
  auto volume = v.make("rbuse");
  dockertest::in_volume(volume, "echo original > /data/x");
  Harness h;
  REQUIRE(h.run("docker.volume.backup", params(volume, dir / "x.tar.zst")).ok);
  dockertest::in_volume(volume, "echo live-data > /data/x");
  auto runner = dockertest::unique("rbuser");
  v.cleanup.name_prefixes.push_back(runner);
  REQUIRE(dockertest::docker_rc({"run", "-d", "--name", runner, "-v", volume + ":/data", dockertest::image(), "sleep", "120"}) == 0);
  auto before = tree_of(volume);
  auto refused = h.run("docker.volume.restore", params(volume, dir / "x.tar.zst"));
  CHECK_FALSE(refused.ok);
  CHECK_THAT(refused.message, Catch::Contains("is in use by " + runner));
  CHECK(tree_of(volume) == before);
  auto forced = h.run("docker.volume.restore", params(volume, dir / "x.tar.zst", {{"force", true}}));
  REQUIRE(forced.ok);
  CHECK_THAT(forced.message, Catch::Contains("force"));
  CHECK(forced.data["forced"] == true);
}

TEST_CASE("a backup pauses the container writing to the volume, and it runs again after success, failure and SIGTERM",
          "[docker][data]") {
  dockertest::require_engine();
  testing::TempDir dir;
  Volumes v;
  auto volume = v.make("rbpause");
  auto writer = dockertest::unique("rbwriter");
  v.cleanup.name_prefixes.push_back(writer);
  REQUIRE(dockertest::docker_rc({"run", "-d", "--name", writer, "-v", volume + ":/data", dockertest::image(), "sh", "-c",
                                 "while true; do date +%s%N >> /data/log; sleep 0.01; done"}) == 0);
  auto state = [&] { return rollback::trim(dockertest::docker_out({"inspect", "-f", "{{.State.Status}}", writer})); };
  Harness h;
  auto ok = h.run("docker.volume.backup", params(volume, dir / "ok.tar.zst"));
  REQUIRE(ok.ok);
  CHECK(ok.data["paused"][0] == writer);
  CHECK(ok.data["consistency"] == "pause");
  CHECK(state() == "running");

  // Failure: the archive cannot be written (a file where its folder should be).
  testing::write_text(dir / "blocked", "x");
  auto failed = h.run("docker.volume.backup", params(volume, dir / "blocked" / "x.tar.zst"));
  CHECK_FALSE(failed.ok);
  CHECK(state() == "running");

  // SIGTERM of rollback mid-copy (a volume large enough to take a while).
  dockertest::in_volume(volume, "mkdir -p /data/many && cd /data/many && i=0; while [ $i -lt 60000 ]; do : > f$i; i=$((i+1)); done");
  testing::write_text(dir / "b.yaml", fmt::format(
      "version: 1\nname: b\nsteps:\n  - {{id: b, action: docker.volume.backup, with: {{volume: {}, archive: \"{}\", image: {}}}}}\n",
      volume, (dir / "t.tar.zst").string(), dockertest::image()));
  auto bg = cli_test::spawn_rollback({"--state-dir", (dir / "state").string(), (dir / "b.yaml").string()}, dir.path(), "b");
  bool paused = false;
  for (int i = 0; i < 400 && !paused; ++i, std::this_thread::sleep_for(25ms)) paused = state() == "paused";
  REQUIRE(paused);
  ::kill(bg.pid, SIGTERM);
  CHECK(cli_test::wait_exit(bg.pid, 60s) == 130);
  CHECK(state() == "running");
  CHECK(dockertest::docker_out({"ps", "-aq", "--filter", "label=rollback.state=" + (dir / "state").string()}).empty());
}

TEST_CASE("a fresh backup's files and folders are owner-only", "[docker][data]") {
  dockertest::require_engine();
  testing::TempDir dir;
  Volumes v;
  auto volume = v.make("rbmode");
  dockertest::in_volume(volume, "echo x > /data/x");
  Harness h;
  REQUIRE(h.run("docker.volume.backup", params(volume, dir / "new" / "sub" / "x.tar.zst")).ok);
  struct stat st {};
  REQUIRE(::stat((dir / "new" / "sub" / "x.tar.zst").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir / "new" / "sub").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat((dir / "new").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}
