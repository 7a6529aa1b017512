// What `validate` and the command line catch before anything runs: a misspelt monitor
// threshold, an undefined ${var} in a watch filter, a mistyped command.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_rollback;
using testing::TempDir;
using testing::write_text;

namespace {

std::string plan_with_monitor(const std::string& monitor) {
  return "version: 1\nname: watched\nvars: {filter: app}\nsteps:\n"
         "  - {id: a, action: wait.sleep, with: {duration: 1ms}}\nmonitor:\n" +
         monitor;
}

}  // namespace

TEST_CASE("validate refuses a misspelt monitor threshold with a located did-you-mean", "[cli][plan]") {
  TempDir tmp;
  write_text(tmp / "p.yaml", plan_with_monitor("  thresholds:\n    latncy: \"< 2s\"\n"));
  auto r = run_rollback({"validate", (tmp / "p.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains((tmp / "p.yaml").string() +
                                    ":8:5: unknown key 'latncy' in monitor.thresholds (did you mean 'latency'?)"));
}

TEST_CASE("an undefined var in monitor.containers.filter is a plan error naming it, not a filter on everything",
          "[cli][plan]") {
  TempDir tmp;
  write_text(tmp / "p.yaml", plan_with_monitor("  containers: {filter: \"${container_filtre}\"}\n"));
  for (std::vector<std::string> args : {std::vector<std::string>{"validate", (tmp / "p.yaml").string()},
                                        std::vector<std::string>{"--state-dir", (tmp / "state").string(), "watch",
                                                                 (tmp / "p.yaml").string(), "--for", "1s"}}) {
    auto r = run_rollback(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(":7:25: monitor: containers.filter: undefined variable ${container_filtre}"));
  }
  CHECK_FALSE(fs::exists(tmp / "state"));
}

TEST_CASE("a mistyped command exits 2 suggesting the command, and runs nothing", "[cli]") {
  TempDir tmp;
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), "--plans-dir", (tmp / "plans").string(), "histroy"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("'histroy' is neither a command nor a plan; did you mean `rollback history`?"));
  CHECK_FALSE(fs::exists(tmp / "state"));
}

TEST_CASE("a plan that happens to be named like a command's typo still runs", "[cli]") {
  TempDir tmp;
  write_text(tmp / "plans" / "histroy.yaml",
             "version: 1\nname: histroy\nsteps:\n  - {id: a, action: wait.sleep, with: {duration: 1ms}}\n");
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), "--plans-dir", (tmp / "plans").string(), "histroy"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("retry until bounds the wall time of a probe to a socket that never answers", "[cli][time]") {
  TempDir tmp;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 16) == 0);  // accepts connections into the backlog, never answers
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  write_text(tmp / "p.yaml", "version: 1\nname: silent\nsteps:\n  - id: probe\n    phase: verify\n    action: http.probe\n"
                             "    retry: {until: 3s, every: 500ms}\n    with: {url: \"http://127.0.0.1:" +
                                 std::to_string(ntohs(addr.sin_port)) + "/health\"}\n");
  auto started = std::chrono::steady_clock::now();
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string()});
  auto took = std::chrono::steady_clock::now() - started;
  ::close(fd);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 5);
  CHECK(took < std::chrono::seconds(5));  // the 3 s window and a second, not curl's own 30 s
}

namespace {

// Exactly one JSON document on stdout (nlohmann refuses trailing garbage).
nlohmann::json one_document(const std::string& out) {
  auto doc = nlohmann::json::parse(out, nullptr, false);
  INFO(out);
  REQUIRE_FALSE(doc.is_discarded());
  return doc;
}

}  // namespace

TEST_CASE("under --json, validate names every input, missing ones included", "[cli][json]") {
  TempDir tmp;
  write_text(tmp / "a.yaml", "version: 1\nname: a\nsteps:\n  - {id: s, action: wait.sleep, with: {duration: 1ms}}\n");
  auto both = run_rollback({"--json", "validate", (tmp / "a.yaml").string(), (tmp / "missing.yaml").string()});
  CHECK(both.exit_code == 2);
  auto doc = one_document(both.out);
  REQUIRE(doc.size() == 2);
  CHECK(doc[1]["file"] == (tmp / "missing.yaml").string());
  CHECK(doc[1]["ok"] == false);
  auto one = run_rollback({"--json", "validate", (tmp / "missing.yaml").string()});
  CHECK(one.exit_code == 2);
  CHECK(one_document(one.out).size() == 1);
}

TEST_CASE("under --json, usage errors and failing commands print one JSON document with the error", "[cli][json]") {
  TempDir tmp;
  auto usage = run_rollback({"--json", "history", "--limit", "many"});
  CHECK(usage.exit_code == 2);
  CHECK(one_document(usage.out)["exit_code"] == 2);
  auto no_plan = run_rollback({"--json", "--plans-dir", tmp.path().string(), "targets", "nope"});
  CHECK(no_plan.exit_code == 2);
  auto doc = one_document(no_plan.out);
  CHECK_THAT(doc["error"].get<std::string>(), Catch::Contains("no plan 'nope'"));
  auto empty_target = run_rollback({"--json", "--plans-dir", tmp.path().string(), "quick", "--target", ""});
  CHECK(empty_target.exit_code == 2);
  CHECK_THAT(one_document(empty_target.out)["error"].get<std::string>(), Catch::Contains("must not be empty"));
}

TEST_CASE("targets with nothing to list says where it looked", "[cli][targets]") {
  TempDir tmp;
  fs::create_directories(tmp / "backups" / "staging-1");
  write_text(tmp / "p.yaml", "version: 1\nname: p\nvars: {backups: " + (tmp / "backups").string() +
                                 "}\ntarget: {from: dir, dir: '${backups}', glob: emergency-stable, default: latest}\n"
                                 "steps:\n  - {id: s, action: wait.sleep, with: {duration: 1ms}}\n");
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), "targets", (tmp / "p.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("no targets found for plan 'p' in " + (tmp / "backups").string() +
                                    " matching emergency-stable"));
}

TEST_CASE("a run under --json prints JSON Lines: each step's start and end as it happens, then the summary with "
          "report.json's fields",
          "[cli][json]") {
  TempDir tmp;
  write_text(tmp / "p.yaml", "version: 1\nname: lines\nsteps:\n  - {id: one, action: wait.sleep, with: {duration: 1ms}}\n"
                             "  - {id: two, phase: verify, action: exec.run, with: {argv: [sh, -c, 'exit 3']}}\n");
  auto r = run_rollback({"--json", "--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 5);
  std::vector<nlohmann::json> events;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    events.push_back(nlohmann::json::parse(line, nullptr, false));
    REQUIRE(events.back().is_object());
  }
  REQUIRE(events.size() == 5);
  CHECK(events[0]["event"] == "step_started");
  CHECK(events[0]["id"] == "one");
  CHECK(events[0]["index"] == 1);
  CHECK(events[0]["total"] == 2);
  CHECK(events[0]["action"] == "wait.sleep");
  CHECK(events[1]["event"] == "step_finished");
  CHECK(events[1]["status"] == "ok");
  CHECK(events[1].contains("duration_ms"));
  CHECK(events[3]["event"] == "step_finished");
  CHECK(events[3]["id"] == "two");
  CHECK(events[3]["status"] == "failed");
  CHECK_THAT(events[3]["message"].get<std::string>(), Catch::Contains("exit"));
  const auto& summary = events[4];
  CHECK(summary["event"] == "run_finished");
  CHECK(summary["exit_code"] == 5);
  auto report = nlohmann::json::parse(read_text(fs::path(summary["report_path"].get<std::string>()).replace_extension(".json")));
  for (const auto& [key, value] : report.items()) CHECK(summary.contains(key));
  CHECK(r.err.find("[2/2] two") != std::string::npos);  // the human lines went to stderr
}
