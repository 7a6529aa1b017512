// Restores give back data, not devices (issue 23.5): a crafted archive holding a block
// device for the host disk (mode 0666), a character device, a FIFO, a setuid-root file and
// a setgid dir, restored by a plan as root against the real engine. And verification reads
// only regular files (issue 24.6): a SHA256SUMS entry that is a symlink to /dev/zero or a FIFO.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "test_docker_support.hpp"

namespace fs = std::filesystem;

namespace {

// The crafted archive, made with the system's tar and zstd from real nodes (mknod needs root).
fs::path crafted_archive(const fs::path& dir) {
  auto tree = dir / "tree";
  auto archive = dir / "crafted.tar.zst";
  auto made = testing::run_program(
      {"sh", "-c",
       fmt::format("set -e; mkdir -p '{0}/dev' '{0}/shared'; mknod '{0}/dev/sda' b 8 0; chmod 666 '{0}/dev/sda'; "
                   "mknod '{0}/dev/null' c 1 3; mkfifo '{0}/pipe'; printf '#!/bin/sh\\nid\\n' > '{0}/rootshell'; "
                   "chmod 4755 '{0}/rootshell'; chmod 2775 '{0}/shared'; echo data > '{0}/data.txt'; "
                   "tar --format=posix -cf - -C '{0}' . | zstd -q -o '{1}'",
                   tree.string(), archive.string())});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  return archive;
}

// What is special in the volume: each device, FIFO, setuid or setgid entry with its type.
std::string specials_in(const std::string& volume) {
  auto r = testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data:ro", dockertest::image(), "sh", "-c",
                                 "cd /data && find . \\( -type b -o -type c -o -type p -o -perm -4000 -o -perm -2000 \\) "
                                 "-exec stat -c '%n %F %a' {} \\; | sort"});
  REQUIRE(r.exit_code == 0);
  return r.out;
}

testing::CommandResult restore_with_plan(const fs::path& dir, const std::string& volume, const fs::path& archive,
                                         const std::string& extra) {
  auto plan = dir / (volume + ".yaml");
  testing::write_text(plan, fmt::format(R"(version: 1
name: special-files
steps:
  - id: restore
    action: docker.volume.restore
    with: {{volume: {}, archive: "{}", image: "{}"{}}}
)",
                                        volume, archive.string(), dockertest::image(), extra));
  return testing::run_rollback({"--state-dir", (dir / "state").string(), plan.string(), "--yes"});
}

}  // namespace

TEST_CASE("a crafted archive with device nodes and a setuid file restores without them by default, and with them "
          "under special_files: keep",
          "[docker][security]") {
  dockertest::require_engine();
  if (::geteuid() != 0) testing::skip("mknod of the crafted archive's devices needs root");
  testing::TempDir dir;
  dockertest::Cleanup cleanup;
  auto archive = crafted_archive(dir.path());
  auto dropped = dockertest::unique("rbtest-special-drop"), kept = dockertest::unique("rbtest-special-keep");
  cleanup.volumes = {dropped, kept};

  auto by_default = restore_with_plan(dir.path(), dropped, archive, "");
  INFO(by_default.out << by_default.err);
  REQUIRE(by_default.exit_code == 0);
  CHECK_THAT(by_default.out, Catch::Contains("dropped 3 special file(s) (devices, FIFOs) and cleared setuid/setgid on 2"));
  CHECK(specials_in(dropped).empty());
  // The data is all there, the setuid file and the setgid dir without those bits.
  auto data = testing::run_program({"docker", "run", "--rm", "-v", dropped + ":/data:ro", dockertest::image(), "sh",
                                    "-c", "cat /data/data.txt && stat -c '%n %a' /data/rootshell /data/shared"});
  CHECK(data.out == "data\n/data/rootshell 755\n/data/shared 775\n");

  auto keep = restore_with_plan(dir.path(), kept, archive, ", special_files: keep");
  INFO(keep.out << keep.err);
  REQUIRE(keep.exit_code == 0);
  CHECK(keep.out.find("dropped") == std::string::npos);
  CHECK(specials_in(kept) ==
        "./dev/null character special file 644\n./dev/sda block special file 666\n./pipe fifo 644\n"
        "./rootshell regular file 4755\n./shared directory 2775\n");
}

namespace {

// Targets of a plan of files: t-good (verifies), and two whose SHA256SUMS also lists
// extra.bin, a symlink to /dev/zero (t-zero) or a FIFO (t-fifo), sealed newest (a day ahead),
// so that `latest` and retention look at them first.
struct SpecialTargets {
  testing::TempDir tmp;
  fs::path backups = tmp / "backups", live = tmp / "live", state = tmp / "state";
  SpecialTargets() {
    for (const char* name : {"t-good", "t-zero", "t-fifo"}) {
      fs::create_directories(backups / name);
      testing::write_text(backups / name / "app.conf", "good\n");
    }
    fs::create_directories(live);
    fs::create_symlink("/dev/zero", backups / "t-zero" / "extra.bin");
    REQUIRE(::mkfifo((backups / "t-fifo" / "extra.bin").c_str(), 0600) == 0);
    for (const char* name : {"t-good", "t-zero", "t-fifo"}) {
      std::string sums = testing::run_program({"sha256sum", "app.conf"}, backups / name).out;
      if (std::string(name) != "t-good") sums += std::string(64, '0') + "  extra.bin\n";
      testing::write_text(backups / name / "SHA256SUMS", sums);
      auto when = std::string(name) == "t-good"
                      ? fs::file_time_type::clock::now()
                      : fs::file_time_type::clock::now() + std::chrono::hours(24);
      fs::last_write_time(backups / name / "SHA256SUMS", when);
    }
    testing::write_text(tmp / "files.yaml", fmt::format(R"(version: 1
name: files
target: {{from: dir, dir: "{0}", glob: "t-*", default: latest, require: [app.conf]}}
steps:
  - {{id: restore, phase: restore, action: fs.copy, with: {{from: "${{target.path}}/app.conf", to: "{1}/app.conf"}}}}
)",
                                                        backups.string(), live.string()));
    testing::write_text(tmp / "keep1.yaml", fmt::format(R"(version: 1
name: keep1
kind: backup
vars: {{backups: "{0}"}}
target: {{from: dir, dir: "${{backups}}", glob: "t-*", makes: "t-new", require: [app.conf], keep: 1}}
steps:
  - {{id: copy, action: fs.copy, with: {{from: "{0}/t-good/app.conf", to: "${{target.path}}/app.conf"}}}}
  - {{id: sums, action: fs.checksum, with: {{dir: "${{target.path}}", mode: write}}}}
)",
                                                        backups.string()));
  }
  // `rollback ARGS...` under a 60 s guard (a hang is killed, exit 124), and how long it took.
  std::pair<testing::CommandResult, double> rollback(std::vector<std::string> args) const {
    std::vector<std::string> argv{"timeout", "60", ROLLBACK_BINARY, "--state-dir", state.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto started = std::chrono::steady_clock::now();
    auto r = testing::run_program(argv);
    return {r, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()};
  }
};

}  // namespace

TEST_CASE("a SHA256SUMS entry that is a symlink to /dev/zero or a FIFO is refused as not a regular file within "
          "seconds by targets, the run's proof and preflight, rehearse and retention",
          "[cli][security][targets]") {
  SpecialTargets t;
  auto plan = (t.tmp / "files.yaml").string();

  auto [listed, listing] = t.rollback({"targets", plan});
  INFO(listed.out << listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(listing < 20);
  CHECK_THAT(listed.out,
             Catch::Contains("SHA256SUMS: extra.bin: not a regular file (a symbolic link)") &&
                 Catch::Contains("SHA256SUMS: extra.bin: not a regular file (a FIFO)"));

  for (const char* bad : {"t-zero", "t-fifo"}) {
    auto [named, took] = t.rollback({plan, "--target", bad, "--yes"});
    INFO(bad << "\n" << named.out << named.err);
    CHECK(named.exit_code == 4);
    CHECK(took < 20);
    CHECK_THAT(named.err, Catch::Contains("not a regular file"));
    auto [rehearsed, rehearsing] = t.rollback({"rehearse", plan, "--target", bad});
    INFO(rehearsed.out << rehearsed.err);
    CHECK(rehearsed.exit_code == 4);
    CHECK(rehearsing < 20);
  }
  CHECK_FALSE(fs::exists(t.live / "app.conf"));  // nothing was restored from them

  // `latest` passes over both (newest, but not verifying) to t-good.
  auto [latest, took] = t.rollback({plan, "--target", "latest", "--yes"});
  INFO(latest.out << latest.err);
  CHECK(latest.exit_code == 0);
  CHECK(took < 20);
  CHECK(testing::read_text(t.live / "app.conf") == "good\n");

  // Retention after a backup proves the targets beyond `keep`, newest first, with the lock held.
  auto [backup, backing_up] = t.rollback({"backup", (t.tmp / "keep1.yaml").string(), "--yes"});
  INFO(backup.out << backup.err);
  CHECK(backup.exit_code == 0);
  CHECK(backing_up < 20);
  CHECK_THAT(backup.out, Catch::Contains("retention: keep 1"));
}
