// A full disk is often the incident itself: a run must keep its record or refuse to start,
// never succeed silently without a journal (issue 12.4). Real tmpfs mounts, real binary.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/small_disk.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::run_rollback;
using testing::TempDir;
using testing::write_text;

namespace {

std::string two_steps(const fs::path& marker, const std::string& first_argv) {
  return fmt::format(R"(version: 1
name: filler
steps:
  - id: first
    action: exec.run
    with: {{argv: {}}}
  - id: second
    action: exec.run
    with: {{argv: [touch, "{}"]}}
)",
                     first_argv, marker.string());
}

}  // namespace

TEST_CASE("a state dir with no room refuses the run with exit 4, naming the dir and where to go instead",
          "[cli][disk]") {
  TempDir tmp;
  testing::SmallDisk disk(tmp / "state", "1m");
  testing::run_program({"dd", "if=/dev/zero", "of=" + (disk.path() / "filler").string(), "bs=64k", "count=100"});
  write_text(tmp / "p.yaml", two_steps(tmp / "marker", "[\"true\"]"));
  auto r = run_rollback({"--state-dir", disk.path().string(), (tmp / "p.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Catch::Contains("cannot keep this run's record in " + disk.path().string()) &&
                        Catch::Contains("No space left on device") && Catch::Contains("/dev/shm") &&
                        Catch::Contains("Nothing ran"));
  CHECK_FALSE(fs::exists(tmp / "marker"));
}

TEST_CASE("a state dir that fills up during the run still gets the whole journal and the report", "[cli][disk]") {
  TempDir tmp;
  testing::SmallDisk disk(tmp / "state", "3m");
  auto fill = fmt::format("[sh, -c, 'dd if=/dev/zero of={}/filler bs=64k 2>/dev/null; true']", disk.path().string());
  write_text(tmp / "p.yaml", two_steps(tmp / "marker", fill));
  auto r = run_rollback({"--state-dir", disk.path().string(), (tmp / "p.yaml").string(), "--json"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(tmp / "marker"));
  auto history = run_rollback({"--state-dir", disk.path().string(), "history", "--json"});
  CHECK_THAT(history.out, Catch::Contains("filler") && Catch::Contains("\"exit_code\": 0"));
  auto last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);  // JSON Lines: the summary is last
  auto out = nlohmann::json::parse(last, nullptr, false);
  REQUIRE(out.is_object());
  CHECK(out["event"] == "run_finished");
  auto report = out.value("report_path", std::string());
  CHECK((!report.empty() && fs::file_size(report) > 0));
  CHECK(fs::file_size(fs::path(report).replace_extension(".json")) > 0);
}

TEST_CASE("a journal that cannot be written during the run makes the exit code non-zero and says so", "[cli][disk]") {
  TempDir tmp;
  // The first step replaces its own run's journal by a directory: every later append fails.
  std::string sabotage = "[sh, -c, 'j=$(ls -d \"$0\"/runs/*/journal.jsonl); rm -f \"$j\"; mkdir \"$j\"', \"" +
                         (tmp / "state").string() + "\"]";
  write_text(tmp / "p.yaml", two_steps(tmp / "marker", sabotage));
  auto r = run_rollback({"--state-dir", (tmp / "state").string(), (tmp / "p.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(fs::exists(tmp / "marker"));  // the rollback itself ran on
  CHECK_THAT(r.err, Catch::Contains("the run's record is incomplete: its journal") &&
                        Catch::Contains("journal.jsonl is missing"));
}
