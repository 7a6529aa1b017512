// The target catalog (engine/target_catalog.hpp), and the recipe of docs/architecture.md
// "Adding a target source": a source defined here, registered in one line, is listed,
// proved and pruned by the same code that serves `rollback targets`, retention, preflight
// and rehearse.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <rollback/actions/action.hpp>
#include <rollback/engine/target_catalog.hpp>

#include "support/temp_dir.hpp"

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

namespace {

// A remote in memory for `offsite:`: the copies it lists, and what a download writes.
struct FakeRemote {
  std::vector<plan::OffsiteTarget> copies;
  bool damaged = false;
  int downloads = 0;
};

plan::OffsiteTransport fake_transport(FakeRemote& remote) {
  plan::OffsiteTransport t;
  t.push = [](const plan::OffsiteRemote&, const std::filesystem::path&, const std::string&) {
    return Result<plan::OffsiteCheck>(plan::OffsiteCheck{});
  };
  t.list = [&remote](const plan::OffsiteRemote&) { return Result<std::vector<plan::OffsiteTarget>>(remote.copies); };
  t.fetch = [&remote](const plan::OffsiteRemote&, const std::string& name,
                      const std::filesystem::path& into) -> Result<plan::OffsiteCheck> {
    ++remote.downloads;
    testing::write_text(into / "data.txt", "from the remote: " + name);
    if (remote.damaged) return fail("downloading fake:bucket/bk/" + name + ": md5 differs for data.txt");
    return plan::OffsiteCheck{.method = "md5", .bytes = 20, .files = 1};
  };
  t.remove = [](const plan::OffsiteRemote&, const std::string&) { return ok(); };
  return t;
}

plan::Plan offsite_plan(const std::filesystem::path& dir) {
  plan::Plan p;
  p.name = "restore";
  p.kind = plan::Kind::Quick;
  p.target.from = "dir";
  p.target.dir = dir.string();
  p.target.glob = "bk-*";
  p.target.require = {"data.txt"};
  p.offsite.remote = "fake:bucket/bk";
  return p;
}

}  // namespace

TEST_CASE("with offsite: latest may be a copy only the remote holds: it is downloaded into the target dir and kept "
          "there marked as downloaded",
          "[engine][targets][offsite]") {
  testing::TempDir tmp;
  auto dir = tmp / "backups-gone";  // the host lost its backups folder whole
  FakeRemote remote{.copies = {{.name = "bk-2", .size_bytes = 20, .modified = std::chrono::system_clock::now(),
                                .complete = true},
                               {.name = "bk-3", .size_bytes = 20, .modified = std::chrono::system_clock::now(),
                                .complete = false}}};  // an upload that never finished
  actions::Registry registry;
  registry.set_offsite(fake_transport(remote));
  auto plan = offsite_plan(dir);
  engine::TargetCatalog catalog(plan, registry.targets());
  auto rows = catalog.rows(plan::Scope(), {});
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].location == "offsite");

  auto latest = catalog.resolve(plan::Scope(), "latest");
  REQUIRE(latest);
  CHECK(latest->target.name == "bk-2");
  CHECK(latest->target.path == (dir / "bk-2").string());
  CHECK(testing::read_text(dir / "bk-2" / "data.txt") == "from the remote: bk-2");
  CHECK(std::filesystem::exists(dir / "bk-2" / ".rollback-downloaded.json"));
  REQUIRE(catalog.downloads().size() == 1);
  CHECK(catalog.downloads()[0].remote == "fake:bucket/bk/bk-2");
  CHECK(remote.downloads == 1);
  CHECK((std::filesystem::status(dir).permissions() & std::filesystem::perms::group_all) == std::filesystem::perms::none);

  // Now both hold it, and the local one says where it came from.
  auto again = engine::TargetCatalog(plan, registry.targets()).rows(plan::Scope(), {});
  REQUIRE(again);
  CHECK((*again)[0].location == "both");
  CHECK((*again)[0].target.detail == "a downloaded copy of the off-host one");
}

TEST_CASE("with offsite: a download that fails is removed and latest passes over it to an older local target",
          "[engine][targets][offsite]") {
  testing::TempDir tmp;
  auto dir = tmp / "backups";
  testing::write_text(dir / "bk-1" / "data.txt", "local");
  std::filesystem::last_write_time(dir / "bk-1", std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));
  FakeRemote remote{.copies = {{.name = "bk-2", .size_bytes = 20, .modified = std::chrono::system_clock::now(),
                                .complete = true}},
                    .damaged = true};
  actions::Registry registry;
  registry.set_offsite(fake_transport(remote));
  auto plan = offsite_plan(dir);
  engine::TargetCatalog catalog(plan, registry.targets());
  auto latest = catalog.resolve(plan::Scope(), "latest");
  REQUIRE(latest);
  CHECK(latest->target.name == "bk-1");
  REQUIRE(latest->passed_over.size() == 1);
  CHECK_THAT(latest->passed_over[0], Catch::Contains("bk-2") && Catch::Contains("downloading fake:bucket/bk/bk-2: md5 differs") &&
                                         Catch::Contains("md5 differs"));
  CHECK(catalog.downloads().empty());
  // Nothing of the failed download stays: no partial folder, no target of that name.
  for (const auto& e : std::filesystem::directory_iterator(dir))
    CHECK((e.path().filename() == "bk-1" || e.path().filename() == ".rollback-download.lock"));

  // Named, it stops the run with the reason.
  auto named = engine::TargetCatalog(plan, registry.targets()).resolve(plan::Scope(), "bk-2");
  REQUIRE_FALSE(named);
  CHECK_THAT(named.error().message, Catch::Contains("target bk-2 does not verify") && Catch::Contains("md5 differs"));
}

TEST_CASE("with offsite: a target dir others can write is refused for a download, nothing is written there",
          "[engine][targets][offsite]") {
  testing::TempDir tmp;
  auto dir = tmp / "shared";
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::all);  // 0777: anyone could swap what lands
  FakeRemote remote{.copies = {{.name = "bk-2", .size_bytes = 20, .modified = std::chrono::system_clock::now(),
                                .complete = true}}};
  actions::Registry registry;
  registry.set_offsite(fake_transport(remote));
  auto plan = offsite_plan(dir);
  auto named = engine::TargetCatalog(plan, registry.targets()).resolve(plan::Scope(), "bk-2");
  REQUIRE_FALSE(named);
  CHECK_THAT(named.error().message, Catch::Contains("will not download into " + dir.string()));
  CHECK(remote.downloads == 0);
  CHECK(std::filesystem::is_empty(dir));
}
