#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include <rollback/plan/target.hpp>
#include <rollback/util/time.hpp>

#include <stdexcept>
#include <rollback/util/fs.hpp>

#include "support/tar_builder.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::plan;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

sys_seconds at(int day, int hour) {
  return sys_days{year{2025} / January / day} + hours{hour};
}

void make_target(const fs::path& dir, sys_seconds when,
                 std::vector<std::pair<std::string, std::string>> files = {}) {
  fs::create_directories(dir);
  for (const auto& [name, content] : files) testing::write_text(dir / name, content);
  fs::last_write_time(dir, file_clock::from_sys(when));
}

// Three backup folders a day apart-ish, plus entries the glob must not pick up.
struct Backups {
  testing::TempDir tmp;
  TargetSpec spec;
  Scope scope;
  Backups() {
    make_target(tmp / "staging-20250127-120000", at(27, 12), {{"docker-compose.yml", "a"}});
    make_target(tmp / "staging-20250127-180000", at(27, 18), {{"docker-compose.yml", "bb"}});
    make_target(tmp / "staging-20250128-090000", at(28, 9), {{"docker-compose.yml", "ccc"}});
    make_target(tmp / "other-20250129", at(29, 0));
    make_target(tmp / ".staging-partial", at(29, 1));
    spec.from = "dir";
    spec.dir = "${backups}";
    spec.glob = "staging-*";
    scope.set_var("backups", tmp.path().string());
  }
  std::string name_of(const std::string& wanted) {
    auto target = resolve_target(spec, scope, TargetSources(), wanted);
    if (!target) return "error: " + target.error().message;
    return target->name;
  }
};

Target dir_target(const fs::path& path) {
  Target target;
  target.name = path.filename().string();
  target.path = path.string();
  return target;
}

}  // namespace

TEST_CASE("dir targets are the glob's matches in the target dir, newest first", "[plan]") {
  Backups b;
  auto targets = TargetSources().list(b.spec, b.scope);
  REQUIRE(targets);
  REQUIRE(targets->size() == 3);
  CHECK((*targets)[0].name == "staging-20250128-090000");
  CHECK((*targets)[1].name == "staging-20250127-180000");
  CHECK((*targets)[2].name == "staging-20250127-120000");
  CHECK((*targets)[0].path == (b.tmp / "staging-20250128-090000").string());
  CHECK((*targets)[0].size_bytes == 3u);
  CHECK(format_utc((*targets)[2].created, kHumanUtc) == "2025-01-27 12:00:00 UTC");
}

TEST_CASE("a target's age is its seal's, so removing a file from an old target does not make it the latest",
          "[plan]") {
  Backups b;
  for (const char* name : {"staging-20250127-120000", "staging-20250128-090000"}) {
    testing::write_text(b.tmp / name / "SHA256SUMS", "");
    fs::last_write_time(b.tmp / name / "SHA256SUMS", file_clock::from_sys(name[15] == '7' ? at(27, 12) : at(28, 9)));
  }
  fs::remove(b.tmp / "staging-20250127-120000" / "docker-compose.yml");  // the folder's mtime is now
  auto targets = TargetSources().list(b.spec, b.scope);
  REQUIRE(targets);
  CHECK((*targets)[0].name == "staging-20250128-090000");
  CHECK((*targets)[2].name == "staging-20250127-120000");
  CHECK(format_utc((*targets)[2].created, kHumanUtc) == "2025-01-27 12:00:00 UTC");
  CHECK(b.name_of("latest") == "staging-20250128-090000");
}

TEST_CASE("a target is found by exact name, unique prefix, latest or previous", "[plan]") {
  Backups b;
  CHECK(b.name_of("staging-20250127-120000") == "staging-20250127-120000");
  CHECK(b.name_of("staging-20250128") == "staging-20250128-090000");
  CHECK(b.name_of("latest") == "staging-20250128-090000");
  CHECK(b.name_of("previous") == "staging-20250127-180000");
  b.spec.default_target = "previous";
  CHECK(b.name_of("") == "staging-20250127-180000");
}

TEST_CASE("a prefix matching two targets is an error listing both with their times", "[plan]") {
  Backups b;
  CHECK(b.name_of("staging-20250127") ==
        "error: target 'staging-20250127' is ambiguous: it matches 2 targets in " +
            b.tmp.path().string() +
            " matching 'staging-*'; give more of the name:\n"
            "  staging-20250127-180000  (2025-01-27 18:00:00 UTC)\n"
            "  staging-20250127-120000  (2025-01-27 12:00:00 UTC)");
}

TEST_CASE("an unknown target name says what exists and suggests the closest", "[plan]") {
  Backups b;
  auto message = b.name_of("staging-20250128-090001");
  CHECK(message.starts_with("error: no target 'staging-20250128-090001' in " +
                            b.tmp.path().string() +
                            " matching 'staging-*' (did you mean 'staging-20250128-090000'?); "
                            "the newest are:\n  staging-20250128-090000"));
}

TEST_CASE("a plan whose default is none needs an explicit target", "[plan]") {
  Backups b;
  CHECK(b.name_of("").starts_with("error: this plan needs a target: pass --target latest"));
}

TEST_CASE("a plan without a target section takes none and refuses --target", "[plan]") {
  TargetSpec spec;
  Scope scope;
  auto none = resolve_target(spec, scope, TargetSources(), "");
  REQUIRE(none);
  CHECK(none->name.empty());
  auto refused = resolve_target(spec, scope, TargetSources(), "latest");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        "--target latest: this plan has no target section, so it takes no target");
}

TEST_CASE("previous is the newest target older than the one a source marks current", "[plan]") {
  TargetSources sources;
  sources.add("test-current", [](const TargetSpec&, const Scope&) {
    std::vector<Target> targets(3);
    targets[0].name = "c3";
    targets[0].created = system_clock::time_point(at(28, 0));
    targets[1].name = "c2";
    targets[1].created = system_clock::time_point(at(27, 0));
    targets[1].current = true;  // rolled back to earlier: the newest is not what runs
    targets[2].name = "c1";
    targets[2].created = system_clock::time_point(at(26, 0));
    return Result<std::vector<Target>>(targets);
  });
  TargetSpec spec;
  spec.from = "test-current";
  auto previous = resolve_target(spec, Scope(), sources, "previous");
  REQUIRE(previous);
  CHECK(previous->name == "c1");
  auto names = sources.names();
  CHECK(std::find(names.begin(), names.end(), "dir") != names.end());
  CHECK_THROWS_AS(sources.add("dir", TargetSource{}), std::logic_error);  // a source is registered once
}

TEST_CASE("a missing target dir is an error naming the dir", "[plan]") {
  TargetSpec spec;
  spec.from = "dir";
  spec.dir = "/nonexistent/backups";
  auto listed = TargetSources().list(spec, Scope());
  REQUIRE_FALSE(listed);
  CHECK(listed.error().message ==
        "target dir /nonexistent/backups does not exist or is not a directory");
}

TEST_CASE("verification lists each required path that is missing", "[plan]") {
  testing::TempDir tmp;
  make_target(tmp / "t", at(27, 0), {{"docker-compose.yml", "x"}});
  TargetSpec spec;
  spec.from = "dir";
  spec.require = {"docker-compose.yml", ".env.staging", "postgres_data.tar.gz"};
  Target target = dir_target(tmp / "t");
  auto result = verify_target(spec, target, Scope());
  CHECK_FALSE(result.ok);
  CHECK(result.problems ==
        std::vector<std::string>{"missing .env.staging", "missing postgres_data.tar.gz"});
}

TEST_CASE("SHA256SUMS in a target is verified: good, tampered, missing file", "[plan]") {
  testing::TempDir tmp;
  make_target(tmp / "t", at(27, 0), {{"db.sql", "dump"}});
  // A listed archive is read as well as summed, so it must be a real one.
  testing::write_archive(tmp / "t" / "vol.tar.gz", {{"records.txt", "rows"}});
  std::string sums = sha256_hex("dump") + "  db.sql\n" +
                     rollback::sha256_file(tmp / "t" / "vol.tar.gz").value() + " *vol.tar.gz\n";
  testing::write_text(tmp / "t" / "SHA256SUMS", sums);
  TargetSpec spec;
  spec.from = "dir";
  Target target = dir_target(tmp / "t");
  SECTION("good") {
    auto result = verify_target(spec, target, Scope());
    CHECK(result.ok);
    CHECK(result.problems.empty());
  }
  SECTION("tampered") {
    testing::write_text(tmp / "t" / "db.sql", "dump, edited");
    auto result = verify_target(spec, target, Scope());
    CHECK_FALSE(result.ok);
    CHECK(result.problems ==
          std::vector<std::string>{"SHA256SUMS: db.sql differs (expected sha256 " +
                                   sha256_hex("dump").substr(0, 12) + "..., got " +
                                   sha256_hex("dump, edited").substr(0, 12) + "...)"});
  }
  SECTION("missing file") {
    fs::remove(tmp / "t" / "vol.tar.gz");
    auto result = verify_target(spec, target, Scope());
    CHECK(result.problems ==
          std::vector<std::string>{"SHA256SUMS: vol.tar.gz is listed but missing"});
  }
  SECTION("a malformed line and a path leaving the target") {
    testing::write_text(tmp / "t" / "SHA256SUMS",
                        sums + "not a digest\n" + sha256_hex("x") + "  ../etc/passwd\n");
    auto result = verify_target(spec, target, Scope());
    CHECK(result.problems ==
          std::vector<std::string>{
              "SHA256SUMS line 3: expected '<sha256>  <file>', got 'not a digest'",
              "SHA256SUMS: '../etc/passwd' points outside the target"});
  }
}

TEST_CASE("manifest.json digests in a target are verified", "[plan]") {
  testing::TempDir tmp;
  std::string manifest = R"({"files": {"db.sql": ")" + sha256_hex("dump") +
                         R"(", "gone.tar.gz": ")" + sha256_hex("x") + R"("}})";
  make_target(tmp / "t", at(27, 0), {{"db.sql", "dump"}, {"manifest.json", manifest}});
  TargetSpec spec;
  spec.from = "dir";
  auto result = verify_target(spec, dir_target(tmp / "t"), Scope());
  CHECK(result.problems ==
        std::vector<std::string>{"manifest.json: gone.tar.gz is listed but missing"});
}

TEST_CASE("require entries resolve ${vars} and ${target.*} from the scope they are checked in", "[plan]") {
  testing::TempDir tmp;
  make_target(tmp / "t", at(27, 0), {{"docker-compose.yml", "x"}});
  TargetSpec spec;
  spec.from = "dir";
  spec.require = {"${compose_file}", "${target.name}.note"};
  Scope scope;
  scope.set_var("compose_file", "docker-compose.yml");
  Target target = dir_target(tmp / "t");
  bind_target(scope, target);
  CHECK(verify_target(spec, target, scope).problems == std::vector<std::string>{"missing t.note"});
}

TEST_CASE("a manifest.json that records only images passes the plan's file checks", "[plan]") {
  testing::TempDir tmp;
  make_target(tmp / "t", at(27, 0), {{"manifest.json", R"({"images": {"api": {"id": "sha256:1"}}})"}});
  TargetSpec spec;
  spec.from = "dir";
  CHECK(verify_target(spec, dir_target(tmp / "t"), Scope()).ok);
}

TEST_CASE("a git target's require entries are host globs matched with its full commit", "[plan]") {
  testing::TempDir tmp;
  std::string commit(40, 'a');
  testing::write_text(tmp / ("pre-deploy-20250127-180000-" + commit + ".dump"), "dump");
  TargetSpec spec;
  spec.from = "git";
  spec.require = {"${backups}/pre-deploy-*-${target.commit}.dump"};
  Scope scope;
  scope.set_var("backups", tmp.path().string());
  Target with_dump{.name = commit.substr(0, 12), .commit = commit};
  bind_target(scope, with_dump);
  CHECK(verify_target(spec, with_dump, scope).ok);
  Target without{.name = std::string(12, 'b'), .commit = std::string(40, 'b')};
  bind_target(scope, without);
  CHECK(verify_target(spec, without, scope).problems ==
        std::vector<std::string>{"nothing matches " + (tmp / "pre-deploy-*-").string() + std::string(40, 'b') +
                                 ".dump"});
}

TEST_CASE("checks that adapters add to the target sources run for every target", "[plan]") {
  testing::TempDir tmp;
  make_target(tmp / "t", at(27, 0));
  TargetSources sources;
  sources.add_check([](const TargetSpec&, const Target& t, const Scope&) {
    return std::vector<std::string>{"image gone: service api (seen for " + t.name + ")"};
  });
  TargetSpec spec;
  spec.from = "dir";
  auto result = verify_target(spec, dir_target(tmp / "t"), Scope(), &sources);
  CHECK_FALSE(result.ok);
  CHECK(result.problems == std::vector<std::string>{"image gone: service api (seen for t)"});
}
