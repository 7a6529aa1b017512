// A bad backup must stop a rollback while the current stack is still there (field lesson 5):
// each kind of damage to a good target makes `rollback quick` exit 4 with the containers
// still running and the volumes, compose file and env file untouched.
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "docker_stack.hpp"

namespace fs = std::filesystem;
using dockertest::Stack;

namespace {

// SHA256SUMS written again over the damaged files, so that the check that must catch the
// damage is the one named, not the checksum.
void reseal(const fs::path& target) {
  auto r = testing::run_program(
      {"sh", "-c", "cd \"$1\" && sha256sum $(awk '{print $2}' SHA256SUMS | while read f; do [ -e \"$f\" ] && echo \"$f\"; done) > SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS",
       "reseal", target.string()});
  REQUIRE(r.exit_code == 0);
}

struct Damage {
  std::string name;
  std::string expected;  // in rollback's error output
  std::function<void(const fs::path&)> apply;
};

}  // namespace

TEST_CASE("truncated, empty, missing or mismatched backup files stop quick with exit 4 and the stack untouched",
          "[docker][e2e][corrupt]") {
  Stack s;
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto good_target = s.targets("staging-").at(0);
  s.break_it();  // what a bad deploy left running: this is what must survive
  auto running_state = s.state();

  std::vector<Damage> damages{
      {"truncated archive (checksums resealed)", "is truncated",
       [](const fs::path& t) {
         fs::resize_file(t / "data.tar.zst", fs::file_size(t / "data.tar.zst") / 2);
         reseal(t);
       }},
      {"one flipped byte (checksums resealed)", "match checksum",
       [](const fs::path& t) {
         auto bytes = testing::read_text(t / "data.tar.zst");
         bytes[bytes.size() / 2] ^= 0x01;
         testing::write_text(t / "data.tar.zst", bytes);
         reseal(t);
       }},
      {"one flipped byte", "data.tar.zst differs",
       [](const fs::path& t) {
         auto bytes = testing::read_text(t / "data.tar.zst");
         bytes[bytes.size() / 3] ^= 0x01;
         testing::write_text(t / "data.tar.zst", bytes);
       }},
      {"wrong checksum", "SHA256SUMS",
       [](const fs::path& t) { testing::write_text(t / "docker-compose.yml", testing::read_text(t / "docker-compose.yml") + "#\n"); }},
      {"missing archive", "pgdata.tar.zst",
       [](const fs::path& t) {
         fs::remove(t / "pgdata.tar.zst");
         reseal(t);
       }},
      {"empty archive (checksums resealed)", "is empty",
       [](const fs::path& t) {
         fs::resize_file(t / "data.tar.zst", 0);
         reseal(t);
       }},
  };

  size_t refused = 0;
  for (const auto& damage : damages) {
    INFO("damage: " << damage.name);
    auto target = s.backups / ("staging-damaged-" + std::to_string(&damage - damages.data()));
    fs::copy(good_target, target, fs::copy_options::recursive);
    damage.apply(target);
    auto quick = s.rollback("quick", {"--target", target.filename().string(), "--yes"});
    CHECK(quick.exit_code == 4);
    CHECK_THAT(quick.out + quick.err, Catch::Contains(damage.expected));
    bool untouched = s.running("api") && s.running("store") && s.state() == running_state;
    CHECK(untouched);
    if (quick.exit_code == 4 && untouched) ++refused;
  }
  std::cout << "corrupt inputs: " << refused << " of " << damages.size()
            << " damaged targets refused with exit 4, stack untouched\n";
  CHECK(refused == damages.size());
}
