// docs/architecture.md's "Adding an adapter" and "Rehearsal by adapter", checked against the
// sources: every registration function is one line of registry.cpp's ROLLBACK_ADAPTERS, no
// behaviour is attached to an action from elsewhere, and the generic rehearsal names no adapter.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {
const fs::path kActions = fs::path(ROLLBACK_SOURCE_DIR) / "src" / "actions";
}

TEST_CASE("every adapter file's registration function is one line of registry.cpp's list, and nothing amends an "
          "action registered elsewhere",
          "[actions][registry]") {
  auto list = testing::read_text(kActions / "registry.cpp");
  const std::regex definition(R"(\nvoid (register_\w+)\(Registry& registry\) \{)");
  size_t found = 0;
  for (const auto& entry : fs::directory_iterator(kActions)) {
    if (entry.path().extension() != ".cpp" || entry.path().filename() == "registry.cpp") continue;
    auto text = testing::read_text(entry.path());
    INFO(entry.path().filename().string());
    CHECK(text.find(".amend(") == std::string::npos);
    for (std::sregex_iterator it(text.begin(), text.end(), definition), end; it != end; ++it) {
      ++found;
      INFO((*it)[1].str());
      CHECK(list.find(", " + (*it)[1].str() + ")") != std::string::npos);
    }
  }
  CHECK(found >= 10);
}

TEST_CASE("the generic rehearsal names no adapter: copies are made and removed by each adapter's own files",
          "[actions][rehearse]") {
  for (const char* file : {"src/actions/rehearsal.cpp", "include/rollback/actions/rehearsal.hpp"}) {
    auto text = testing::read_text(fs::path(ROLLBACK_SOURCE_DIR) / file);
    // Code, not the comments that point a reader to the adapters' files.
    std::string code;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      if (auto at = line.find("//"); at != 0) code += line.substr(0, at) + "\n";
    INFO(file);
    for (const char* adapter : {"docker", "pg::", "postgres", "libpq", "PQ", "git::", "http::", "\"git\""})
      CHECK(code.find(adapter) == std::string::npos);
  }
}
