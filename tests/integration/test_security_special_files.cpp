// Restores give back data, not devices (issue 23.5): a crafted archive holding a block
// device for the host disk (mode 0666), a character device, a FIFO, a setuid-root file and
// a setgid dir, restored by a plan as root against the real engine.
#include <unistd.h>

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
