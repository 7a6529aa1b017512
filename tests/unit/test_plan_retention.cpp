// Retention of dir targets (target.keep): the newest N stay, older ones go, except the newest
// one that verifies, one a run still names, and a pre-rollback-* younger than 7 days.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include <rollback/engine/target_catalog.hpp>
#include <rollback/plan/retention.hpp>
#include <rollback/util/fs.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;
using namespace rollback::plan;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Backup folders in a temp dir, the newest last; each made `age` ago.
struct Backups {
  testing::TempDir tmp;
  Plan plan;
  TargetSpec& spec = plan.target;
  Scope scope;
  RetentionRules rules;
  TargetSources sources;

  Backups(int keep) {
    plan.kind = Kind::Backup;
    spec.from = "dir";
    spec.dir = tmp.path().string();
    spec.glob = "*";
    spec.keep = keep;
    rules.keep = keep;
  }
  // A good target (its SHA256SUMS verifies), or a broken one (it does not).
  void make(const std::string& name, std::chrono::hours age, bool good = true) {
    auto dir = tmp / name;
    testing::write_text(dir / "data", name);
    REQUIRE(write_file_atomic(dir / "SHA256SUMS", (good ? sha256_hex(name) : std::string(64, '0')) + "  data\n"));
    fs::last_write_time(dir / "SHA256SUMS", fs::file_time_type::clock::now() - age);  // sealed then
    fs::last_write_time(dir, fs::file_time_type::clock::now() - age);
  }
  std::vector<std::string> left() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(tmp.path())) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  // Retention as a backup applies it: through the target catalog, with the one proof.
  engine::PruneOutcome prune() {
    auto result = engine::TargetCatalog(plan, sources).prune(scope, rules.named_by_runs);
    REQUIRE(result);
    return *result;
  }
};

}  // namespace

TEST_CASE("retention keeps the newest N targets and prunes the older ones, oldest first", "[plan][retention]") {
  Backups b(2);
  for (int i = 1; i <= 5; ++i) b.make("staging-" + std::to_string(i), std::chrono::hours(100 - i));
  auto result = b.prune();
  CHECK(result.pruned == std::vector<std::string>{"staging-1", "staging-2", "staging-3"});
  CHECK(result.problems.empty());
  CHECK(b.left() == std::vector<std::string>{"staging-4", "staging-5"});  // no hidden leftovers either
}

TEST_CASE("retention never prunes the newest target that verifies, even when the newest N do not", "[plan][retention]") {
  Backups b(2);
  b.make("staging-1", 50h);
  b.make("staging-2", 40h);  // the last good one
  b.make("staging-3", 30h, false);
  b.make("staging-4", 20h, false);
  auto result = b.prune();
  CHECK(result.pruned == std::vector<std::string>{"staging-1"});
  CHECK(b.left() == std::vector<std::string>{"staging-2", "staging-3", "staging-4"});
  REQUIRE(result.fates.size() == 4);
  CHECK(result.fates[2].target.name == "staging-2");
  CHECK(result.fates[2].kept_beyond == KeptBecause::NewestVerifying);
}

TEST_CASE("retention never prunes a target a running or interrupted run names, by path or by name", "[plan][retention]") {
  Backups b(1);
  b.make("staging-1", 50h);
  b.make("staging-2", 40h);
  b.make("staging-3", 30h);
  b.make("staging-4", 20h);
  b.rules.named_by_runs = {(b.tmp / "staging-1").string() + "/", "staging-3"};
  auto result = b.prune();
  CHECK(result.pruned == std::vector<std::string>{"staging-2"});
  CHECK(b.left() == std::vector<std::string>{"staging-1", "staging-3", "staging-4"});
}

TEST_CASE("retention keeps a pre-rollback target younger than 7 days and prunes an older one", "[plan][retention]") {
  Backups b(1);
  b.make("pre-rollback-old", std::chrono::hours(24 * 8));
  b.make("pre-rollback-recent", std::chrono::hours(24 * 6));
  b.make("staging-1", 2h);
  auto result = b.prune();
  CHECK(result.pruned == std::vector<std::string>{"pre-rollback-old"});
  CHECK(b.left() == std::vector<std::string>{"pre-rollback-recent", "staging-1"});
  CHECK(result.fates[1].kept_beyond == KeptBecause::RecentPreRollback);
}

TEST_CASE("what the next backup would prune counts the target it is about to add", "[plan][retention]") {
  std::vector<Target> targets;
  for (int i = 4; i >= 1; --i) targets.push_back(Target{.name = "staging-" + std::to_string(i), .path = {}, .created = {}});
  RetentionRules rules{.keep = 3, .named_by_runs = {"staging-1"}, .upcoming = 1};
  int asked = 0;
  auto fates = retention_fates(targets, rules, [&](const Target&) { return ++asked, true; });
  CHECK_FALSE(fates[0].prune);
  CHECK_FALSE(fates[1].prune);
  CHECK(fates[2].prune);  // staging-2: the new backup takes the third place
  CHECK_FALSE(fates[3].prune);
  CHECK(fates[3].kept_beyond == KeptBecause::NamedByRun);
  CHECK(asked == 0);  // the coming backup is the newest that verifies: nothing is read
}

TEST_CASE("retention reads no target to verify it while nothing is beyond the limit", "[plan][retention]") {
  std::vector<Target> targets{Target{.name = "a", .path = {}, .created = {}}, Target{.name = "b", .path = {}, .created = {}}};
  int asked = 0;
  auto fates = retention_fates(targets, RetentionRules{.keep = 2}, [&](const Target&) { return ++asked, true; });
  CHECK(asked == 0);
  CHECK_FALSE(fates[1].prune);
}

TEST_CASE("a prune cut short leaves only a hidden entry, which the next prune removes", "[plan][retention]") {
  Backups b(1);
  b.make("staging-1", 30h);
  b.make("staging-2", 20h);
  fs::create_directories(b.tmp / ".pruning-staging-0" / "half");
  auto listed = TargetSources().list(b.spec, b.scope);
  REQUIRE(listed);
  CHECK(listed->size() == 2);  // the hidden leftover is no target
  auto result = b.prune();
  CHECK(result.pruned == std::vector<std::string>{"staging-1"});
  CHECK(b.left() == std::vector<std::string>{"staging-2"});
}

TEST_CASE("pruning a file target removes its .sha256 beside it", "[plan][retention]") {
  Backups b(1);
  b.spec.glob = "pre-deploy-*.dump";
  for (const char* name : {"pre-deploy-1.dump", "pre-deploy-2.dump"}) {
    testing::write_text(b.tmp / name, name);
    testing::write_text(b.tmp / (std::string(name) + ".sha256"), "x");
  }
  fs::last_write_time(b.tmp / "pre-deploy-1.dump", fs::file_time_type::clock::now() - 5h);
  auto result = b.prune();
  CHECK(result.pruned == std::vector<std::string>{"pre-deploy-1.dump"});
  CHECK(b.left() == std::vector<std::string>{"pre-deploy-2.dump", "pre-deploy-2.dump.sha256"});
}
