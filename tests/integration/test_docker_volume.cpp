// docker.volume.* against the real engine.
#include <filesystem>
#include <fstream>

#include "support/small_disk.hpp"
#include "test_docker_support.hpp"

using dockertest::Harness;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* kSeed =
    "mkdir -p /data/sub/deeper && echo v1 > /data/version.txt && echo secret-ish > /data/.hidden && "
    "head -c 200000 /dev/urandom > /data/sub/deeper/blob.bin && ln -s version.txt /data/link";

}  // namespace

TEST_CASE("volume backup then restore gives byte-identical files", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbtest-vol");
  cleanup.volumes.push_back(volume);
  Harness h;
  REQUIRE(h.run("docker.volume.create", {{"volume", volume}}).ok);
  dockertest::in_volume(volume, kSeed);
  auto before = dockertest::volume_sums(volume);
  REQUIRE_FALSE(before.empty());

  auto archive = (dir / "backup/data.tar.gz").string();
  auto backup = h.run("docker.volume.backup", {{"volume", volume}, {"archive", archive}, {"image", dockertest::image()}});
  REQUIRE(backup.ok);
  CHECK(fs::file_size(archive) > 0);
  // No temporary file is left beside the archive.
  CHECK(std::distance(fs::directory_iterator(dir / "backup"), fs::directory_iterator()) == 1);

  // Break the data: change a file, remove one, add one that did not exist at backup time.
  dockertest::in_volume(volume, "echo v2 > /data/version.txt && rm /data/.hidden && echo new > /data/extra");
  REQUIRE(dockertest::volume_sums(volume) != before);

  auto restore = h.run("docker.volume.restore", {{"volume", volume}, {"archive", archive}, {"image", dockertest::image()}});
  REQUIRE(restore.ok);
  CHECK(dockertest::volume_sums(volume) == before);
  auto link = testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data", dockertest::image(), "readlink",
                                    "/data/link"});
  CHECK(link.out == "version.txt\n");
}

TEST_CASE("restore creates the volume when it does not exist", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto source = dockertest::unique("rbtest-src"), target = dockertest::unique("rbtest-dst");
  cleanup.volumes = {source, target};
  Harness h;
  REQUIRE(h.run("docker.volume.create", {{"volume", source}}).ok);
  dockertest::in_volume(source, kSeed);
  auto archive = (dir / "a.tar.gz").string();
  REQUIRE(h.run("docker.volume.backup", {{"volume", source}, {"archive", archive}, {"image", dockertest::image()}}).ok);
  REQUIRE(h.run("docker.volume.restore", {{"volume", target}, {"archive", archive}, {"image", dockertest::image()}}).ok);
  CHECK(dockertest::volume_sums(target) == dockertest::volume_sums(source));
}

TEST_CASE("restore refuses a truncated archive before touching the volume", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbtest-vol");
  cleanup.volumes.push_back(volume);
  Harness h;
  REQUIRE(h.run("docker.volume.create", {{"volume", volume}}).ok);
  dockertest::in_volume(volume, kSeed);
  auto archive = dir / "data.tar.gz";
  REQUIRE(h.run("docker.volume.backup", {{"volume", volume}, {"archive", archive.string()}, {"image", dockertest::image()}}).ok);
  fs::resize_file(archive, fs::file_size(archive) / 2);
  dockertest::in_volume(volume, "echo current > /data/version.txt");
  auto current = dockertest::volume_sums(volume);
  h.log.clear();

  json params{{"volume", volume}, {"archive", archive.string()}, {"image", dockertest::image()}};
  auto pre = h.preflight("docker.volume.restore", params);
  CHECK_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::Contains("is truncated"));
  auto outcome = h.run("docker.volume.restore", params);
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("step test-step"));
  CHECK_THAT(outcome.message, Catch::Contains(archive.string()));
  CHECK(dockertest::volume_sums(volume) == current);
  CHECK_FALSE(h.logged("docker run"));  // no container ever touched the volume
}

TEST_CASE("restore refuses a missing archive before touching the volume", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbtest-vol");
  cleanup.volumes.push_back(volume);
  Harness h;
  REQUIRE(h.run("docker.volume.create", {{"volume", volume}}).ok);
  dockertest::in_volume(volume, kSeed);
  auto current = dockertest::volume_sums(volume);
  json params{{"volume", volume}, {"archive", (dir / "nope.tar.gz").string()}, {"image", dockertest::image()}};
  auto pre = h.preflight("docker.volume.restore", params);
  CHECK_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::Contains("does not exist"));
  auto outcome = h.run("docker.volume.restore", params);
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("nope.tar.gz does not exist"));
  CHECK(dockertest::volume_sums(volume) == current);
}

TEST_CASE("restore refuses when the helper image is not present locally", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbtest-vol");
  cleanup.volumes.push_back(volume);
  Harness h;
  REQUIRE(h.run("docker.volume.create", {{"volume", volume}}).ok);
  dockertest::in_volume(volume, kSeed);
  auto archive = (dir / "data.tar.gz").string();
  REQUIRE(h.run("docker.volume.backup", {{"volume", volume}, {"archive", archive}, {"image", dockertest::image()}}).ok);
  auto current = dockertest::volume_sums(volume);
  auto outcome = h.run("docker.volume.restore", {{"volume", volume}, {"archive", archive}, {"image", "rbtest/absent:0"}});
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("helper image rbtest/absent:0 is not present locally"));
  CHECK(dockertest::volume_sums(volume) == current);
}

TEST_CASE("backup fails clearly when the volume does not exist", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  Harness h;
  auto volume = dockertest::unique("rbtest-absent");
  auto archive = dir / "x.tar.gz";
  auto outcome = h.run("docker.volume.backup", {{"volume", volume}, {"archive", archive.string()}, {"image", dockertest::image()}});
  CHECK_FALSE(outcome.ok);
  CHECK_THAT(outcome.message, Catch::Contains("volume " + volume + " does not exist"));
  CHECK_FALSE(fs::exists(archive));
  // ...and did not create it as a side effect.
  CHECK(dockertest::docker_rc({"volume", "inspect", volume}) != 0);
}

TEST_CASE("volume remove of a missing volume succeeds unless must_exist", "[docker][integration]") {
  dockertest::require_engine();
  Harness h;
  auto volume = dockertest::unique("rbtest-absent");
  CHECK(h.run("docker.volume.remove", {{"volume", volume}}).ok);
  auto strict = h.run("docker.volume.remove", {{"volume", volume}, {"must_exist", true}});
  CHECK_FALSE(strict.ok);
  CHECK_THAT(strict.message, Catch::Contains("does not exist"));
  dockertest::Cleanup cleanup;
  cleanup.volumes.push_back(volume);
  REQUIRE(h.run("docker.volume.create", {{"volume", volume}}).ok);
  CHECK(h.run("docker.volume.remove", {{"volume", volume}, {"must_exist", true}}).ok);
  CHECK(dockertest::docker_rc({"volume", "inspect", volume}) != 0);
}

TEST_CASE("an unreachable daemon gives a clear error naming the step", "[docker][integration]") {
  if (!rollback::proc::program_available("docker")) testing::skip("no docker CLI");
  testing::TempDir dir;
  ::setenv("DOCKER_HOST", "unix:///nonexistent", 1);
  Harness h;
  h.ctx.step_id = "restore-db";
  testing::write_text(dir / "a.tar.gz", "");
  auto outcome = h.run("docker.volume.create", {{"volume", "whatever"}});
  CHECK_FALSE(outcome.ok);
  CHECK(outcome.message ==
        "step restore-db: Docker daemon not reachable at unix:///nonexistent: is dockerd running? "
        "(docker volume create -- whatever failed)");
  auto pre = h.preflight("docker.volume.create", {{"volume", "whatever"}});
  CHECK_FALSE(pre.ok);
  CHECK_THAT(pre.message, Catch::StartsWith("step restore-db: Docker daemon not reachable at unix:///nonexistent: is dockerd running?"));
  auto ps = h.run("docker.ps", {{"filter", "x"}, {"expect_running", {"x"}}});
  CHECK_THAT(ps.message, Catch::Contains("Docker daemon not reachable at unix:///nonexistent"));
  ::unsetenv("DOCKER_HOST");
}

TEST_CASE("a volume backup that would not fit refuses before writing, with the numbers", "[docker][integration]") {
  dockertest::require_engine();
  testing::TempDir dir;
  testing::SmallDisk disk(dir / "small", "2m");
  dockertest::Cleanup cleanup;
  auto volume = dockertest::unique("rbtest-vol");
  cleanup.volumes.push_back(volume);
  Harness h;
  REQUIRE(h.run("docker.volume.create", {{"volume", volume}}).ok);
  dockertest::in_volume(volume, "head -c 3000000 /dev/urandom > /data/big.bin");

  auto archive = (disk.path() / "data.tar.gz").string();
  auto backup = h.run("docker.volume.backup", {{"volume", volume}, {"archive", archive}, {"image", dockertest::image()}});
  INFO(backup.message);
  CHECK_FALSE(backup.ok);
  CHECK_THAT(backup.message, Catch::StartsWith("step test-step: not enough free space in " + disk.path().string() +
                                               " for the archive of volume " + volume));
  CHECK_THAT(backup.message, Catch::Contains("2.0MB free"));
  CHECK(fs::is_empty(disk.path()));  // nothing written, no partial file left
}
