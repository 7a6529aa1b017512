// No work outlives the run (issue 12): a volume restore stopped by its timeout, by SIGINT or
// by a SIGKILL of rollback leaves no helper container behind, and the volume stops changing
// once the result is reported; an exec.run child dies with a SIGKILLed rollback.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "cli_spawn.hpp"
#include "test_docker_support.hpp"

namespace fs = std::filesystem;
using namespace dockertest;
using namespace std::chrono_literals;

namespace {

constexpr int kDirs = 400, kFilesPerDir = 250;  // 100k small files: seconds to extract

// A volume, and an archive of 100k files whose extraction takes long enough to interrupt.
struct SlowRestore {
  testing::TempDir dir;
  Cleanup cleanup;
  std::string volume = unique("rbslow");
  fs::path state = dir / "state";

  SlowRestore() {
    require_engine();
    cleanup.volumes.push_back(volume);
    auto tree = dir / "tree";
    for (int d = 0; d < kDirs; ++d) {
      fs::create_directories(tree / std::to_string(d));
      for (int f = 0; f < kFilesPerDir; ++f) std::ofstream(tree / std::to_string(d) / std::to_string(f)) << f;
    }
    fs::create_directories(dir / "backups");
    REQUIRE(testing::run_program({"tar", "czf", (dir / "backups" / "data.tar.gz").string(), "-C", tree.string(), "."})
                .exit_code == 0);
    fs::remove_all(tree);
    REQUIRE(docker_rc({"volume", "create", volume}) == 0);
    in_volume(volume, "echo old > /data/old");
  }
  ~SlowRestore() { remove_labelled(); }

  fs::path plan(const std::string& timeout) {
    auto path = dir / "restore.yaml";
    testing::write_text(path, fmt::format(R"(version: 1
name: slow-restore
steps:
  - id: restore
    action: docker.volume.restore
    timeout: {}
    with: {{volume: {}, archive: {}, image: {}}}
)",
                                          timeout, volume, (dir / "backups" / "data.tar.gz").string(), image()));
    return path;
  }
  std::vector<std::string> args(const std::string& timeout) {
    return {"--state-dir", state.string(), plan(timeout).string(), "--yes"};
  }
  // Helper containers of this test's state dir, running or not.
  std::vector<std::string> helpers() const {
    return words(docker_out({"ps", "-aq", "--filter", "label=rollback.state=" + state.string()}));
  }
  void remove_labelled() const {
    auto ids = helpers();
    if (ids.empty()) return;
    std::vector<std::string> argv{"rm", "-f"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    docker_rc(argv);
  }
  bool wait_for_helper(std::chrono::milliseconds limit) const {
    for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(50ms))
      if (!helpers().empty()) return true;
    return false;
  }
  std::string contents() const {
    auto r = testing::run_program({"docker", "run", "--rm", "-v", volume + ":/data:ro", image(), "sh", "-c",
                                   "find /data | wc -l; cat /data/old 2>/dev/null"});
    return r.out;
  }
  // The volume as the run left it, and again a while later: a helper still at work shows.
  void check_settled(const std::string& when) const {
    INFO(when);
    CHECK(helpers().empty());
    auto reported = contents();
    std::this_thread::sleep_for(3s);
    CHECK(contents() == reported);
    CHECK(helpers().empty());
  }
};

}  // namespace

TEST_CASE("a volume restore stopped by its timeout leaves no helper container, and the volume stops changing",
          "[docker][fault][helpers]") {
  SlowRestore s;
  auto r = testing::run_rollback(s.args("1500ms"));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out + r.err, Catch::Contains("timed out"));
  s.check_settled("after the timeout");
}

TEST_CASE("a volume restore interrupted by SIGINT exits 130 with no helper container left", "[docker][fault][helpers]") {
  SlowRestore s;
  auto bg = cli_test::spawn_rollback(s.args("5m"), s.dir.path(), "sigint");
  REQUIRE(bg.pid > 0);
  REQUIRE(s.wait_for_helper(60s));
  ::kill(bg.pid, SIGINT);
  int code = cli_test::wait_exit(bg.pid, 60s);
  INFO(testing::read_text(bg.out) << testing::read_text(bg.err));
  CHECK(code == 130);
  s.check_settled("after SIGINT");
}

TEST_CASE("after a SIGKILL of rollback mid-restore, resume removes the orphaned helper and ends on the target",
          "[docker][fault][helpers]") {
  SlowRestore s;
  auto bg = cli_test::spawn_rollback(s.args("5m"), s.dir.path(), "sigkill");
  REQUIRE(bg.pid > 0);
  REQUIRE(s.wait_for_helper(60s));
  ::kill(bg.pid, SIGKILL);
  CHECK(cli_test::wait_exit(bg.pid, 10s) == 128 + SIGKILL);
  auto r = testing::run_rollback({"--state-dir", s.state.string(), "resume", "--yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  // Every file of the archive, the directories, /data itself; nothing of the old content.
  CHECK(s.contents() == fmt::format("{}\n", kDirs * kFilesPerDir + kDirs + 1));
  s.check_settled("after resume");
}

TEST_CASE("an exec.run child dies with a SIGKILLed rollback and does not go on to write its file", "[cli][fault]") {
  testing::TempDir dir;
  auto started = dir / "started", late = dir / "late", pidfile = dir / "pid";
  testing::write_text(dir / "p.yaml", fmt::format(R"(version: 1
name: child
steps:
  - id: work
    action: exec.run
    with:
      argv: [sh, -c, 'echo $$ > "$1"; sleep 30 & echo started > "$2"; sleep 2; echo late > "$3"; wait', sh, "{}", "{}", "{}"]
)",
                                                  pidfile.string(), started.string(), late.string()));
  auto bg = cli_test::spawn_rollback({"--state-dir", (dir / "state").string(), (dir / "p.yaml").string()}, dir.path(),
                                     "run");
  REQUIRE(cli_test::wait_for_file(started, 30s));
  long child = std::stol(testing::read_text(pidfile));
  ::kill(bg.pid, SIGKILL);
  cli_test::wait_exit(bg.pid, 10s);
  std::this_thread::sleep_for(3s);
  CHECK_FALSE(fs::exists(late));
  CHECK_FALSE(fs::exists("/proc/" + std::to_string(child)));
  auto sleepers = testing::run_program({"pgrep", "-f", "sleep 30"});
  CHECK(sleepers.out.find(std::to_string(child)) == std::string::npos);
}

TEST_CASE("a backup killed mid-archive leaves no partial file in the target once resumed, nor in its SHA256SUMS",
          "[docker][fault][helpers]") {
  SlowRestore s;
  // The volume gets the 100k files, so that archiving it takes long enough to be killed.
  REQUIRE(testing::run_program({"docker", "run", "--rm", "-v", s.volume + ":/data", "-v",
                                (s.dir / "backups").string() + ":/backup:ro", image(), "tar", "-xzf",
                                "/backup/data.tar.gz", "-C", "/data"})
              .exit_code == 0);
  auto dest = s.dir / "target";
  testing::write_text(s.dir / "backup.yaml", fmt::format(R"(version: 1
name: slow-backup
steps:
  - {{id: dir, action: fs.mkdir, with: {{path: "{0}"}}}}
  - {{id: archive, action: docker.volume.backup, with: {{volume: {1}, archive: "{0}/data.tar.gz", image: {2}}}}}
  - {{id: sums, action: fs.checksum, with: {{dir: "{0}", mode: write}}}}
)",
                                                         dest.string(), s.volume, image()));
  auto bg = cli_test::spawn_rollback({"--state-dir", s.state.string(), (s.dir / "backup.yaml").string(), "--yes"},
                                     s.dir.path(), "backup");
  bool partial_seen = false;
  for (int i = 0; i < 600 && !partial_seen; ++i) {
    std::this_thread::sleep_for(50ms);
    if (fs::exists(dest))
      for (const auto& e : fs::directory_iterator(dest))
        partial_seen = partial_seen || e.path().filename().string().find(".partial") != std::string::npos;
  }
  REQUIRE(partial_seen);
  ::kill(bg.pid, SIGKILL);
  cli_test::wait_exit(bg.pid, 10s);
  auto r = testing::run_rollback({"--state-dir", s.state.string(), "resume", "--yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  for (const auto& e : fs::directory_iterator(dest)) CHECK(e.path().filename().string().find(".partial") == std::string::npos);
  auto sums = testing::read_text(dest / "SHA256SUMS");
  CHECK(sums.find("partial") == std::string::npos);
  CHECK_THAT(sums, Catch::Contains("data.tar.gz"));
  s.check_settled("after the resumed backup");
}
