// The CLI under faults: parse errors before any state, the run lock under races and after a
// SIGKILL, signals mid-step, refusing destructive plans unattended, dry-run and preflight
// changing nothing, secrets never printed, validate listing every error.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "cli_spawn.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace cli_test;
using testing::run_rollback;
using testing::TempDir;

namespace {

std::string slurp_tree(const fs::path& dir) {
  std::string all;
  if (!fs::exists(dir)) return all;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) all += testing::read_text(e.path()) + "\n";
  return all;
}

// path -> size, mtime and content: equal maps mean nothing in the tree changed.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    std::string v = std::to_string(st.st_size) + "@" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_mode);
    if (e.is_regular_file()) v += ":" + std::to_string(std::hash<std::string>{}(testing::read_text(e.path())));
    out[fs::relative(e.path(), dir).string()] = v;
  }
  return out;
}

std::string sleep_plan(const std::string& duration) {
  return "version: 1\nname: sleeper\nsteps:\n  - id: nap\n    action: wait.sleep\n    with: {duration: " +
         duration + "}\n";
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

}  // namespace

TEST_CASE("help and parse errors exit before creating any state") {
  TempDir tmp;
  auto state = tmp / "state";
  testing::write_text(tmp / "p.yaml", sleep_plan("1s"));
  auto help = run_rollback({"--state-dir", state.string(), "--help"});
  CHECK(help.exit_code == 0);
  auto bogus = run_rollback({"--state-dir", state.string(), (tmp / "p.yaml").string(), "--bogus"});
  CHECK(bogus.exit_code == 2);
  auto no_plan = run_rollback({"--state-dir", state.string(), "run"});
  CHECK(no_plan.exit_code == 2);
  auto run_help = run_rollback({"--state-dir", state.string(), "run", (tmp / "p.yaml").string(), "--help"});
  CHECK(run_help.exit_code == 0);
  CHECK_FALSE(fs::exists(state));
}

TEST_CASE("of two runs started together on one state dir exactly one runs and the other names the holder") {
  TempDir tmp;
  testing::write_text(tmp / "p.yaml", sleep_plan("2s"));
  std::vector<std::string> args{"--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string(),
                                "--yes", "--operator", "alice"};
  auto a = spawn_rollback(args, tmp.path(), "a");
  auto b = spawn_rollback(args, tmp.path(), "b");
  int ca = wait_exit(a.pid), cb = wait_exit(b.pid);
  REQUIRE(((ca == 0 && cb == 3) || (ca == 3 && cb == 0)));
  auto loser_err = testing::read_text(ca == 3 ? a.err : b.err);
  auto winner_pid = std::to_string(ca == 3 ? b.pid : a.pid);
  INFO(loser_err);
  CHECK(loser_err.find("pid " + winner_pid) != std::string::npos);
  CHECK(loser_err.find("operator alice") != std::string::npos);
  CHECK(loser_err.find("since 20") != std::string::npos);
  // The holder's run id is the single run directory that exists.
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(tmp / "state" / "runs")) runs.push_back(e.path().filename());
  REQUIRE(runs.size() == 1);
  CHECK(loser_err.find("run " + runs[0]) != std::string::npos);
}

TEST_CASE("of twenty concurrent runs exactly one runs and nineteen exit 3") {
  TempDir tmp;
  testing::write_text(tmp / "p.yaml", sleep_plan("2s"));
  std::vector<std::string> args{"--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string(), "--yes"};
  std::vector<Background> all;
  for (int i = 0; i < 20; ++i) all.push_back(spawn_rollback(args, tmp.path(), "r" + std::to_string(i)));
  int ok = 0, locked = 0;
  for (auto& bg : all) {
    int code = wait_exit(bg.pid, std::chrono::seconds(60));
    if (code == 0) ++ok;
    if (code == 3) ++locked;
  }
  CHECK(ok == 1);
  CHECK(locked == 19);
}

TEST_CASE("a lock left by a SIGKILLed run is taken over by the next run") {
  TempDir tmp;
  testing::write_text(tmp / "slow.yaml", sleep_plan("30s"));
  testing::write_text(tmp / "fast.yaml", sleep_plan("10ms"));
  auto state = (tmp / "state").string();
  auto first = spawn_rollback({"--state-dir", state, (tmp / "slow.yaml").string(), "--yes"}, tmp.path(), "first");
  REQUIRE(wait_for_file(tmp / "state" / "lock", std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(first.pid, SIGKILL);
  CHECK(wait_exit(first.pid) == 128 + SIGKILL);
  auto second = run_rollback({"--state-dir", state, (tmp / "fast.yaml").string(), "--yes"});
  INFO(second.err);
  CHECK(second.exit_code == 0);
}

namespace {

void interrupted_by(int sig) {
  TempDir tmp;
  auto pidfile = tmp / "child.pid";
  testing::write_text(tmp / "p.yaml",
                      "version: 1\nname: long\nsteps:\n  - id: long\n    action: exec.run\n"
                      "    with:\n      shell: echo $$ > " + pidfile.string() + "; exec sleep 30\n");
  auto state = tmp / "state";
  auto bg = spawn_rollback({"--state-dir", state.string(), (tmp / "p.yaml").string(), "--yes"}, tmp.path(), "run");
  REQUIRE(wait_for_file(pidfile, std::chrono::seconds(10)));
  pid_t child = std::stoi(testing::read_text(pidfile));
  REQUIRE(process_exists(child));
  auto sent = std::chrono::steady_clock::now();
  ::kill(bg.pid, sig);
  int code = wait_exit(bg.pid, std::chrono::seconds(10));
  auto took = std::chrono::steady_clock::now() - sent;
  INFO(testing::read_text(bg.err));
  CHECK(code == 130);
  CHECK(took < std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(process_exists(child));
  fs::path run_dir;
  for (const auto& e : fs::directory_iterator(state / "runs")) run_dir = e.path();
  REQUIRE_FALSE(run_dir.empty());
  auto journal = testing::read_text(run_dir / "journal.jsonl");
  INFO(journal);
  CHECK(journal.find("interrupted") != std::string::npos);
  auto report = testing::read_text(run_dir / "report.md");
  CHECK(report.find("nterrupted") != std::string::npos);
}

}  // namespace

TEST_CASE("SIGINT during a child step exits 130, kills the child's group and journals the interruption") {
  interrupted_by(SIGINT);
}

TEST_CASE("SIGTERM during a child step exits 130, kills the child's group and journals the interruption") {
  interrupted_by(SIGTERM);
}

TEST_CASE("a destructive plan without --yes and without a terminal is refused before anything runs") {
  TempDir tmp;
  auto marker = tmp / "marker";
  testing::write_text(tmp / "p.yaml", "version: 1\nname: destroy\nsteps:\n  - id: mark\n    action: exec.run\n"
                                      "    with: {argv: [touch, " + marker.string() + "]}\n"
                                      "  - id: wipe\n    action: fs.remove\n    with: {path: " +
                                      (tmp / "data").string() + "}\n");
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string()});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--yes") != std::string::npos);
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("a dry run changes no file in the tree and adds nothing to the state dir") {
  TempDir tmp;
  auto data = tmp / "data";
  fs::create_directories(data / "sub");
  testing::write_text(data / "a.txt", "alpha");
  testing::write_text(data / "sub" / "b.txt", "beta");
  fs::create_directories(tmp / "state");
  testing::write_text(tmp / "p.yaml",
                      "version: 1\nname: dry\nsteps:\n"
                      "  - id: copy\n    action: fs.copy\n    with: {from: " + (data / "a.txt").string() +
                      ", to: " + (data / "c.txt").string() + "}\n"
                      "  - id: wipe\n    action: fs.remove\n    with: {path: " + (data / "sub").string() + "}\n"
                      "  - id: touch\n    action: exec.run\n    with: {argv: [touch, " +
                      (data / "new").string() + "]}\n");
  auto before = snapshot(tmp.path());
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string(), "--dry-run"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(snapshot(tmp.path()) == before);
}

TEST_CASE("a secret from the environment appears in no output, journal or report") {
  TempDir tmp;
  const std::string secret = "s3cr3t-Value-9f2a";
  auto state = tmp / "state";
  testing::write_text(tmp / "p.yaml",
                      "version: 1\nname: secretive\nsecrets:\n  token: {env: SAFETY_TOKEN}\nsteps:\n"
                      "  - id: echo\n    action: exec.run\n    with: {argv: [echo, \"token=${secrets.token}\"]}\n"
                      "  - id: fail\n    action: exec.run\n"
                      "    with: {argv: [sh, -c, 'echo \"bad $0\" >&2; exit 3', \"${secrets.token}\"]}\n");
  auto r = run_rollback({"--state-dir", state.string(), (tmp / "p.yaml").string(), "--yes", "-v"},
                        {{"SAFETY_TOKEN", secret}});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find(secret) == std::string::npos);
  CHECK(r.err.find(secret) == std::string::npos);
  auto on_disk = slurp_tree(state);
  CHECK(r.out.find("token=***") != std::string::npos);  // the value was used, and masked
  CHECK(on_disk.find("bad ***") != std::string::npos);
  CHECK(on_disk.find(secret) == std::string::npos);
}

TEST_CASE("a preflight failure in the third step exits 4 before the first step runs") {
  TempDir tmp;
  auto marker = tmp / "marker";
  testing::write_text(tmp / "p.yaml", "version: 1\nname: pre\nsteps:\n"
                      "  - id: mark\n    action: exec.run\n    with: {argv: [touch, " + marker.string() + "]}\n"
                      "  - id: nap\n    action: wait.sleep\n    with: {duration: 10ms}\n"
                      "  - id: copy\n    action: fs.copy\n    with: {from: " + (tmp / "missing").string() +
                      ", to: " + (tmp / "dest").string() + "}\n");
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string(), "--yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 4);
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("validate prints one FILE:LINE:COL line for each of three mistakes and exits 2") {
  auto file = testing::fixture("plans/bad/36-three-mistakes.yaml");
  auto r = run_rollback({"validate", file.string()});
  CHECK(r.exit_code == 2);
  std::vector<std::string> lines;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(file.string() + ":")) lines.push_back(line);
  INFO(r.err);
  CHECK(lines.size() == 3);
}
