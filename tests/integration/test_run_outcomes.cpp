// One outcome (issue 22): the console's last line, report.md, report.json, the --json
// summary and `history` all say what the engine's run record says. (`watch` finding the
// twin of --report r.txt is in test_cli_check_watch.cpp.)
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

namespace {

// A restore that succeeds, then a verification that fails under on_failure: continue.
std::string verify_plan() {
  return R"(version: 1
name: verified
steps:
  - id: restore
    action: exec.run
    with: {argv: ["true"]}
  - id: health
    name: API health
    phase: verify
    on_failure: continue
    action: exec.run
    with: {argv: [sh, -c, "echo unhealthy >&2; exit 1"]}
  - id: count
    phase: verify
    action: exec.run
    with: {argv: ["true"]}
)";
}

std::string last_line(const std::string& text, size_t from_end = 0) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (end > at) lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines.size() > from_end ? lines[lines.size() - 1 - from_end] : "";
}

}  // namespace

TEST_CASE("a verification failing under on_failure: continue exits 5, and every output says so and names the step",
          "[cli][outcome]") {
  testing::TempDir dir;
  write_text(dir / "plan.yaml", verify_plan());
  auto state = (dir / "state").string();
  auto r = testing::run_rollback({"--state-dir", state, (dir / "plan.yaml").string(), "--yes"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 5);
  auto summary = last_line(r.out, 1);  // the last line is the report's path
  CHECK_THAT(summary, Catch::Contains("VERIFICATION FAILED") && Catch::Contains("health") && Catch::Contains("exit 5"));
  auto md = read_text(testing::report_path_of(r.out));
  CHECK_THAT(md, Catch::Contains("VERIFICATION FAILED") && Catch::Contains("verification step health"));
  CHECK_THAT(md, !Catch::Contains("Every step succeeded"));
  auto json = nlohmann::json::parse(read_text(fs::path(testing::report_path_of(r.out)).replace_extension(".json")));
  CHECK(json["result"]["exit_code"] == 5);
  CHECK_THAT(json["result"]["outcome"].get<std::string>(), Catch::Contains("health"));
  CHECK_THAT(json["result"]["outcome"].get<std::string>(), !Catch::Contains("Every step succeeded"));

  auto lines = testing::run_rollback({"--state-dir", state, "--json", (dir / "plan.yaml").string(), "--yes"});
  CHECK(lines.exit_code == 5);
  auto finished = nlohmann::json::parse(last_line(lines.out));
  CHECK(finished["event"] == "run_finished");
  CHECK(finished["exit_code"] == 5);
  CHECK_THAT(finished["result"]["outcome"].get<std::string>(), Catch::Contains("health"));

  auto history = nlohmann::json::parse(testing::run_rollback({"--state-dir", state, "--json", "history"}).out);
  REQUIRE(history.size() == 2);
  for (const auto& run : history) {
    CHECK(run["result"] == "verify-failed");
    CHECK(run["exit_code"] == 5);
  }
}
