// Every plan in tests/fixtures/plans/bad/ must be refused with exactly the diagnostics listed
// for it in tests/fixtures/plans/bad/expected.txt: all of them, in order, word for word.
//
// expected.txt format: a line "== NAME.yaml" starts a plan's section; each following
// non-empty line is one diagnostic as `validate` prints it ("NAME.yaml:LINE:COL: message",
// the file named relative to the corpus dir). Lines starting with "#" are comments.
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <rollback/actions/action.hpp>
#include <rollback/plan/loader.hpp>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rollback;

namespace {

std::map<std::string, std::vector<std::string>> read_expected(const fs::path& file) {
  std::map<std::string, std::vector<std::string>> out;
  std::ifstream in(file);
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.empty() || line.starts_with("#")) continue;
    if (line.starts_with("== ")) {
      current = line.substr(3);
      out[current];
    } else {
      out[current].push_back(line);
    }
  }
  return out;
}

std::vector<std::string> corpus_files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("every broken plan in the corpus is refused with exactly its expected diagnostics") {
  auto dir = testing::fixture("plans/bad");
  auto expected = read_expected(dir / "expected.txt");
  auto names = corpus_files(dir);
  REQUIRE(names.size() >= 30);
  for (const auto& name : names) {
    INFO("plan " << name);
    REQUIRE(expected.count(name) == 1);
    auto loaded = plan::load_plan(dir / name, actions::builtin_registry());
    std::vector<std::string> got;
    std::string prefix = (dir / "").string();
    for (const auto& d : loaded.diagnostics) {
      auto text = d.str();
      if (text.starts_with(prefix)) text.erase(0, prefix.size());
      got.push_back(text);
    }
    CHECK_FALSE(loaded.plan.has_value());
    CHECK(got == expected.at(name));
  }
  // No stale section for a plan that was removed or renamed.
  for (const auto& [name, lines] : expected) CHECK(std::count(names.begin(), names.end(), name) == 1);
}

TEST_CASE("exec.run refuses an argv written as one line of text instead of a list") {
  const std::string text =
      "version: 1\nname: p\nsteps:\n  - id: a\n    action: exec.run\n    with:\n      argv: pg_dump -Fc db\n";
  auto loaded = plan::load_plan_text(text, "p.yaml", actions::builtin_registry());
  REQUIRE(loaded.diagnostics.size() == 1);
  CHECK(loaded.diagnostics[0].str() ==
        "p.yaml:7:13: step 'a': argv must be a list such as [pg_dump, -Fc, mydb], got the text "
        "'pg_dump -Fc db'; for a command line write `shell:`");
}
