// A secret interpolated into a DSN never reaches any output, whatever characters it holds
// (issue 12.6): real PostgreSQL, real binary, console + report.md + report.json + journal.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

std::string everything_written(const testing::CommandResult& r, const fs::path& state) {
  std::string all = r.out + r.err;
  for (const auto& e : fs::recursive_directory_iterator(state))
    if (e.is_regular_file()) all += testing::read_text(e.path());
  return all;
}

}  // namespace

TEST_CASE("a password with @, /, a quote, a backslash and non-ASCII in a postgresql:// DSN is encoded and never printed",
          "[pg][secrets]") {
  const char* base = std::getenv("ROLLBACK_TEST_PG_DSN");
  if (!base || !*base) testing::skip("ROLLBACK_TEST_PG_DSN is not set");
  std::string dsn = base;  // postgresql://postgres@127.0.0.1:PORT/postgres
  auto at = dsn.find('@');
  std::string with_secret = dsn.substr(0, at) + ":${secrets.tok}" + dsn.substr(at);
  for (std::string token : {std::string("hunter2@prod"), std::string("Pa\"ss\\wd/\xc3\xa9<x>")}) {
    testing::TempDir dir;
    testing::write_text(dir / "p.yaml", fmt::format(R"(version: 1
name: dsn-secret
secrets: {{tok: {{env: TOK}}}}
steps:
  - id: ready
    action: pg.ready
    with: {{dsn: "{}"}}
  - id: query
    action: pg.query
    with: {{dsn: "{}", sql: "SELECT 1", expect: "== 1"}}
)",
                                                    with_secret, with_secret));
    auto r = testing::run_rollback({"--state-dir", (dir / "state").string(), (dir / "p.yaml").string()},
                                   {{"TOK", token}});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);  // the DSN parses: the password no longer splits it
    auto all = everything_written(r, dir / "state");
    CHECK(all.find(token) == std::string::npos);
    CHECK(all.find("prod@") == std::string::npos);
    CHECK(all.find("hunter2") == std::string::npos);
    CHECK(all.find("Pa\"ss") == std::string::npos);
  }
}
