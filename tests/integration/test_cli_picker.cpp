// The picker (issue 14): `--target` omitted for a plan whose default is none shows a terminal
// the targets table, newest first, with verdicts; the operator picks by number, then gets
// the usual confirmation. Driven through a pseudo-terminal, as an operator would use it.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* kPlan = R"(version: 1
name: pick
kind: custom
vars:
  backups: /nonexistent
  live: /nonexistent
target:
  from: dir
  dir: ${backups}
  glob: "t-*"
  default: none
  require: [app.conf]
steps:
  - id: restore-conf
    phase: restore
    action: fs.copy
    destructive: true
    with: {from: "${target.path}/app.conf", to: "${live}/app.conf"}
)";

// `rollback ARGS` on a pseudo-terminal; say() writes a line as if typed, expect() reads
// until the text shows.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& args) {
    std::vector<std::string> all{ROLLBACK_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    pid_ = ::forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::setenv("NO_COLOR", "1", 1);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool expect(const std::string& text, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (seen_.find(text, from_) == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      auto n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      seen_.append(buf, static_cast<size_t>(n));
    }
    auto at = seen_.find(text, from_);
    if (at == std::string::npos) return false;
    from_ = at + text.size();
    return true;
  }
  void say(const std::string& line) {
    auto text = line + "\n";
    REQUIRE(::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  int wait() {
    expect("\x01never\x01", std::chrono::seconds(2));  // drain
    int status = 0;
    ::waitpid(pid_, &status, 0);
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return code_;
  }
  const std::string& seen() const { return seen_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
  int code_ = -1;
  std::string seen_;
  size_t from_ = 0;
};

struct Scene {
  testing::TempDir tmp;
  fs::path backups = tmp / "backups", live = tmp / "live";
  Scene() {
    fs::create_directories(tmp / "plans");
    testing::write_text(tmp / "plans" / "pick.yaml", kPlan);
    fs::create_directories(backups / "t-old");
    testing::write_text(backups / "t-old" / "app.conf", "old\n");
    fs::last_write_time(backups / "t-old", fs::file_time_type::clock::now() - std::chrono::hours(48));
    fs::create_directories(backups / "t-broken");  // newest, but without app.conf
    fs::create_directories(live);
    testing::write_text(live / "app.conf", "live\n");
  }
  std::vector<std::string> args() const {
    return {"pick", "--plans-dir", (tmp / "plans").string(), "--state-dir", (tmp / "state").string(), "--var",
            "backups=" + backups.string(), "--var", "live=" + live.string()};
  }
};

}  // namespace

TEST_CASE("on a terminal, a plan with default none shows the targets newest first, refuses one that does not "
          "verify, takes a number, then asks for confirmation",
          "[cli][picker]") {
  Scene scene;
  Terminal term(scene.args());
  REQUIRE(term.expect("needs a target"));
  REQUIRE(term.expect("t-broken"));  // newest first
  CHECK(term.expect("NO"));
  REQUIRE(term.expect("t-old"));
  CHECK(term.expect("yes"));
  REQUIRE(term.expect("Pick a target by number"));
  term.say("1");
  CHECK(term.expect("does not verify"));
  term.say("2");
  REQUIRE(term.expect("Type 'yes' to continue"));
  term.say("yes");
  INFO(term.seen());
  CHECK(term.wait() == 0);
  CHECK(testing::read_text(scene.live / "app.conf") == "old\n");
}

TEST_CASE("on a terminal, pressing Enter at the picker stops with exit 2 and nothing changed", "[cli][picker]") {
  Scene scene;
  Terminal term(scene.args());
  REQUIRE(term.expect("Pick a target by number"));
  term.say("");
  INFO(term.seen());
  CHECK(term.wait() == 2);
  CHECK(testing::read_text(scene.live / "app.conf") == "live\n");
}

TEST_CASE("without a terminal, a plan with default none still exits 2 with the hint", "[cli][picker]") {
  Scene scene;
  auto r = testing::run_rollback(scene.args());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("needs --target") && Catch::Contains("rollback targets pick"));
}
