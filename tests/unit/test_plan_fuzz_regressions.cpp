// Inputs found by fuzz/plan_loader_fuzzer and fuzz/interpolate_fuzzer that once crashed or
// threw out of the loader; each must now give ordinary diagnostics.
#include <catch2/catch.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/plan/loader.hpp>

using namespace rollback;

namespace {

std::vector<std::string> diagnostics_of(const std::string& text) {
  auto loaded = plan::load_plan_text(text, "f.yaml", actions::builtin_registry());
  std::vector<std::string> out;
  for (const auto& d : loaded.diagnostics) out.push_back(d.str());
  return out;
}

}  // namespace

TEST_CASE("a step without a with map is reported as missing its parameters instead of throwing") {
  // Found by the fuzzer: reading which vars a step sets indexed `with` on a const node, got
  // yaml-cpp's invalid node and threw YAML::InvalidNode ("internal error" from validate).
  std::vector<std::string> got;
  REQUIRE_NOTHROW(got = diagnostics_of("version: 1\nname: r\nsteps:\n  - id: a\n    action: wait.sleep\n"));
  CHECK(got == std::vector<std::string>{"f.yaml:4:5: step 'a': wait.sleep needs parameter 'duration'"});
}

TEST_CASE("pg.query without `expect` validates instead of failing with an internal error") {
  // Found by the fuzzer (a 5-minute run): the check of `expect` asked IsMap() of the invalid
  // node yaml-cpp returns for a missing key, and `rollback validate` said "internal error:
  // invalid node; first invalid key: \"expect\"" for any pg.query without it.
  std::vector<std::string> got;
  REQUIRE_NOTHROW(got = diagnostics_of("version: 1\nname: r\nsteps:\n  - id: a\n    action: pg.query\n"
                                       "    with: {dsn: \"postgresql://app@db/app\", sql: \"SELECT 1\"}\n"));
  CHECK(got.empty());
}

TEST_CASE("a parameter value of an unexpected shape is a located diagnostic, not an internal error") {
  std::vector<std::string> got;
  REQUIRE_NOTHROW(got = diagnostics_of("version: 1\nname: r\nsteps:\n  - id: a\n    action: pg.query\n"
                                       "    with: {sql: \"SELECT 1\", expect: {[a]: 1}}\n"));
  CHECK(got == std::vector<std::string>{
                   "f.yaml:6:38: step 'a': a parameter value here has an unexpected shape (bad conversion)"});
}

TEST_CASE("a misspelt with key gives an unknown-key error and a missing-parameter error, not a crash") {
  std::vector<std::string> got;
  REQUIRE_NOTHROW(got = diagnostics_of(
                      "version: 1\nname: r\nsteps:\n  - id: a\n    action: wait.sleep\n    wth: {duration: 1s}\n"));
  CHECK(got == std::vector<std::string>{
                   "f.yaml:6:5: unknown key 'wth' in step 'a' (did you mean 'with'?)",
                   "f.yaml:4:5: step 'a': wait.sleep needs parameter 'duration'"});
}

TEST_CASE("an exec.run step without with reports the argv-or-shell choice") {
  std::vector<std::string> got;
  REQUIRE_NOTHROW(got = diagnostics_of("version: 1\nname: r\nsteps:\n  - id: a\n    action: exec.run\n"));
  CHECK(got == std::vector<std::string>{
                   "f.yaml:4:5: step 'a': exec.run needs exactly one of `argv` (a list) or `shell` (a literal script)"});
}

TEST_CASE("an unknown key with an invisible control character shows it escaped") {
  // Found by the fuzzer: "with\x0e" read "unknown key 'with' (did you mean 'with'?)".
  auto got = diagnostics_of("version: 1\nname: r\nsteps:\n  - id: a\n    action: wait.sleep\n"
                            "    with\x0e: {duration: 1s}\n");
  REQUIRE_FALSE(got.empty());
  CHECK(got[0] == "f.yaml:6:5: unknown key 'with\\x0e' in step 'a' (did you mean 'with'?)");
}
