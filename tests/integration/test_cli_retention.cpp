// Retention through the binary: `rollback targets` marks what the next backup prunes and warns
// about a target dir others can read; a successful backup then prunes exactly those, never the
// protected kinds, says so in its report, and its own files are owner-only.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

namespace {

unsigned mode_of(const fs::path& path) { return static_cast<unsigned>(fs::status(path).permissions() & fs::perms::mask); }

void make_target(const fs::path& dir, int days_old, bool complete = true) {
  fs::create_directories(dir);
  if (complete) write_text(dir / "app.env", "TOKEN=old\n");
  fs::permissions(dir, static_cast<fs::perms>(0755));
  fs::last_write_time(dir, fs::file_time_type::clock::now() - std::chrono::hours(24 * days_old));
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string line_of(const std::string& out, const std::string& target) {
  auto at = out.find("\n" + target + " ");
  if (at == std::string::npos) return "";
  return out.substr(at + 1, out.find('\n', at + 1) - at - 1);
}

}  // namespace

TEST_CASE("targets marks what the next backup prunes, and the backup prunes exactly that, never the newest "
          "that verifies, a target an interrupted run names, or a recent pre-rollback",
          "[cli][retention]") {
  testing::TempDir dir;
  auto backups = dir / "backups";
  fs::create_directories(backups);
  fs::permissions(backups, static_cast<fs::perms>(0755));
  write_text(dir / "src/app.env", "TOKEN=new\n");
  make_target(backups / "staging-1", 11, /*complete=*/false);
  make_target(backups / "pre-rollback-old", 10);
  make_target(backups / "staging-2", 5);  // the target of an interrupted run
  make_target(backups / "staging-3", 4);
  make_target(backups / "staging-4", 3);
  make_target(backups / "pre-rollback-recent", 2);
  make_target(backups / "staging-5", 1);
  auto state = dir / "state";
  write_text(state / "runs/20250101-000000-quick-aaaa/journal.jsonl",
             nlohmann::json({{"event", "run_started"}, {"run_id", "20250101-000000-quick-aaaa"}, {"plan", "quick"},
                             {"target", "staging-2"}, {"target_path", (backups / "staging-2").string()},
                             {"started", "2025-01-01T00:00:00Z"}, {"steps", nlohmann::json::array()}})
                     .dump() +
                 "\n");
  write_text(dir / "backup.yaml", fmt::format(R"(version: 1
name: files-backup
kind: backup
vars:
  src: {0}
  backups: {1}
  dest: ${{backups}}/staging-${{run.started}}
target:
  from: dir
  dir: ${{backups}}
  glob: "*"
  require: [app.env]
  keep: 2
steps:
  - {{id: dir, action: fs.mkdir, with: {{path: "${{dest}}"}}}}
  - {{id: copy, action: fs.copy, with: {{from: "${{src}}/app.env", to: "${{dest}}/app.env"}}}}
  - {{id: sums, action: fs.checksum, with: {{dir: "${{dest}}", mode: write}}}}
)",
                                              (dir / "src").string(), backups.string()));

  auto listed = testing::run_rollback({"--state-dir", state.string(), "targets", (dir / "backup.yaml").string()});
  INFO(listed.out << listed.err);
  REQUIRE(listed.exit_code == 0);
  for (const char* pruned : {"staging-1", "pre-rollback-old", "staging-3", "staging-4"})
    CHECK_THAT(line_of(listed.out, pruned), Catch::Contains("PRUNED by the next backup (keep 2)"));
  CHECK_THAT(line_of(listed.out, "staging-2"), Catch::Contains("kept beyond keep 2: named_by_run"));
  CHECK_THAT(line_of(listed.out, "pre-rollback-recent"), Catch::Contains("kept beyond keep 2: recent_pre_rollback"));
  CHECK_THAT(line_of(listed.out, "staging-5"), !Catch::Contains("PRUNED") && !Catch::Contains("kept beyond"));
  CHECK_THAT(listed.err, Catch::Contains(fmt::format("warning: target dir {} can be read by group/others (mode 0755)",
                                                     backups.string())));
  CHECK_THAT(listed.err, Catch::Contains("7 target(s) can be read by group/others"));
  auto as_json = nlohmann::json::parse(
      testing::run_rollback({"--state-dir", state.string(), "--json", "targets", (dir / "backup.yaml").string()}).out);
  REQUIRE(as_json.is_array());
  CHECK(std::count_if(as_json.begin(), as_json.end(), [](const auto& t) { return t["pruned_by_next_backup"] == true; }) == 4);

  auto backup = testing::run_rollback({"--state-dir", state.string(), "backup", (dir / "backup.yaml").string(), "--yes"});
  INFO(backup.out << backup.err);
  REQUIRE(backup.exit_code == 0);
  auto left = entries(backups);
  REQUIRE(left.size() == 4);
  CHECK(std::count(left.begin(), left.end(), "staging-5") == 1);
  CHECK(std::count(left.begin(), left.end(), "staging-2") == 1);
  CHECK(std::count(left.begin(), left.end(), "pre-rollback-recent") == 1);
  auto made = std::find_if(left.begin(), left.end(), [](const auto& n) {
    return n.starts_with("staging-") && n.size() > std::string("staging-5").size();
  });
  REQUIRE(made != left.end());
  CHECK_THAT(backup.out, Catch::Contains("retention: keep 2: pruned 4 old target(s)"));

  // The new backup is owner-only, its folder and every file in it.
  CHECK(mode_of(backups / *made) == 0700);
  CHECK(mode_of(backups / *made / "app.env") == 0600);
  CHECK(mode_of(backups / *made / "SHA256SUMS") == 0600);

  auto report = read_text(testing::report_path_of(backup.out));
  CHECK_THAT(report, Catch::Contains("## Retention"));
  CHECK_THAT(report, Catch::Contains("Pruned (oldest beyond the limit): `staging-1`, `pre-rollback-old`, `staging-3`, "
                                     "`staging-4`."));
  auto json = nlohmann::json::parse(read_text(fs::path(testing::report_path_of(backup.out)).replace_extension(".json")));
  CHECK(json["extra"]["retention"]["pruned"].size() == 4);
  CHECK(json["extra"]["retention"]["keep"] == 2);
}

TEST_CASE("a backup plan takes no --target", "[cli][retention]") {
  testing::TempDir dir;
  fs::create_directories(dir / "backups");
  write_text(dir / "backup.yaml", fmt::format(R"(version: 1
name: b
kind: backup
target: {{from: dir, dir: "{}", keep: 3}}
steps:
  - {{id: a, action: wait.sleep, with: {{duration: 1ms}}}}
)",
                                              (dir / "backups").string()));
  auto r = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "backup.yaml").string(), "--target",
                                  "latest"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("is a backup plan: it makes targets and takes none"));
}
