// The target catalog (engine/target_catalog.hpp), and the recipe of docs/architecture.md
// "Adding a target source": a source defined here, registered in one line, is listed,
// proved and pruned by the same code that serves `rollback targets`, retention, preflight
// and rehearse.
#include <catch2/catch.hpp>

#include <map>

#include <rollback/actions/action.hpp>
#include <rollback/engine/target_catalog.hpp>

using namespace rollback;
using namespace std::chrono_literals;

namespace {

// Snapshots kept in memory: "bad" ones do not verify.
struct Snapshots {
  std::map<std::string, bool> good;  // name -> verifies
  std::vector<std::string> pruned;
};

plan::TargetSource memory_source(Snapshots& store) {
  plan::TargetSource source;
  source.list = [&store](const plan::TargetSpec&, const plan::Scope&) {
    std::vector<plan::Target> out;
    int age = 0;
    for (auto it = store.good.rbegin(); it != store.good.rend(); ++it)  // newest (greatest name) first
      out.push_back(plan::Target{.name = it->first, .created = std::chrono::system_clock::now() - std::chrono::hours(++age)});
    return Result<std::vector<plan::Target>>(out);
  };
  source.verify = [&store](const plan::TargetSpec&, const plan::Target& t, const plan::Scope&) {
    return store.good.at(t.name) ? std::vector<std::string>{} : std::vector<std::string>{"snapshot is corrupt"};
  };
  source.prune = [&store](const plan::TargetSpec&, const plan::Target& t, const plan::Scope&) -> Status {
    store.good.erase(t.name);
    store.pruned.push_back(t.name);
    return ok();
  };
  return source;
}

plan::Plan plan_from(const std::string& from, std::optional<int> keep = std::nullopt) {
  plan::Plan p;
  p.name = "snapshots";
  p.kind = keep ? plan::Kind::Backup : plan::Kind::Quick;
  p.target.from = from;
  p.target.keep = keep;
  return p;
}

}  // namespace

TEST_CASE("a target source registered in one line is listed, proved, resolved and pruned by the catalog",
          "[engine][targets]") {
  Snapshots store{.good = {{"snap-1", true}, {"snap-2", true}, {"snap-3", true}, {"snap-4", false}}};
  actions::Registry registry;
  registry.add_target_source("memory", memory_source(store));  // the one registration line

  auto rows = engine::TargetCatalog(plan_from("memory"), registry.targets()).rows(plan::Scope(), {});
  REQUIRE(rows);
  REQUIRE(rows->size() == 4);
  CHECK((*rows)[0].target.name == "snap-4");
  CHECK_FALSE((*rows)[0].check.ok);  // the one proof: the source's verify
  CHECK((*rows)[1].check.ok);

  // `latest` is the newest that verifies, and says what it passed over.
  auto latest = engine::TargetCatalog(plan_from("memory"), registry.targets()).resolve(plan::Scope(), "latest");
  REQUIRE(latest);
  CHECK(latest->target.name == "snap-3");
  REQUIRE(latest->passed_over.size() == 1);
  CHECK_THAT(latest->passed_over.front(), Catch::Contains("snap-4") && Catch::Contains("snapshot is corrupt"));
  auto previous = engine::TargetCatalog(plan_from("memory"), registry.targets()).resolve(plan::Scope(), "previous");
  REQUIRE(previous);
  CHECK(previous->target.name == "snap-2");

  // Retention, keep 1: the newest (bad) one stays by count, the newest that verifies stays,
  // a target a run still needs stays; the rest go through the source's prune.
  auto backup_plan = plan_from("memory", 1);
  auto pruned = engine::TargetCatalog(backup_plan, registry.targets()).prune(plan::Scope(), {"snap-1"});
  REQUIRE(pruned);
  CHECK(store.pruned == std::vector<std::string>{"snap-2"});
  CHECK(store.good.contains("snap-3"));
  CHECK(store.good.contains("snap-1"));
}

TEST_CASE("a target named explicitly that does not verify is refused with its problems", "[engine][targets]") {
  Snapshots store{.good = {{"snap-1", false}}};
  actions::Registry registry;
  registry.add_target_source("memory", memory_source(store));
  auto resolved = engine::TargetCatalog(plan_from("memory"), registry.targets()).resolve(plan::Scope(), "snap-1");
  REQUIRE_FALSE(resolved);
  CHECK_THAT(resolved.error().message, Catch::Contains("does not verify") && Catch::Contains("snapshot is corrupt"));
}
