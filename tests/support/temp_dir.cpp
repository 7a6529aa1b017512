#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include <rollback/proc/runner.hpp>

namespace testing {
namespace fs = std::filesystem;

TempDir::TempDir() : uncaught_at_start_(std::uncaught_exceptions()) {
  std::string pattern = (fs::temp_directory_path() / "rollback-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  // Keep the directory when the test is failing, so what it left can be inspected.
  bool failing = std::uncaught_exceptions() > uncaught_at_start_;
  try {
    failing = failing || !Catch::getResultCapture().lastAssertionPassed();
  } catch (...) {
  }
  if (failing || std::getenv("ROLLBACK_KEEP_TEST_DIRS")) {
    std::cerr << "test dir kept: " << path_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void skip(const std::string& why) {
  // scripts/test starts every service and sets ROLLBACK_REQUIRE_SERVICES=1: there a missing
  // service is a failure, so CI can never pass by skipping the real-engine tests.
  if (const char* required = std::getenv("ROLLBACK_REQUIRE_SERVICES"); required && *required == '1') {
    std::cerr << "FAILED: required service missing: " << why << "\n";
    std::exit(1);
  }
  std::cerr << "SKIPPED: " << why << "\n";
  std::exit(77);
}

void write_text(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_program(const std::vector<std::string>& argv, const fs::path& cwd) {
  rollback::proc::SystemRunner runner;
  rollback::proc::Command command;
  command.argv = argv;
  command.capture_limit = 4 * 1024 * 1024;
  command.timeout = std::chrono::minutes(10);
  if (!cwd.empty()) command.cwd = cwd;
  auto done = runner.run(command);
  if (!done) return {-1, "", done.error().message};
  return {done->exit_code, done->out, done->err};
}

CommandResult run_rollback(const std::vector<std::string>& args,
                           const std::vector<std::pair<std::string, std::string>>& env,
                           const fs::path& cwd) {
  rollback::proc::SystemRunner runner;
  rollback::proc::Command command;
  // ROLLBACK_TEST_BINARY: the CLI cases against another build (an installed rollback, or an
  // older one, to show what a fix changed).
  const char* other = std::getenv("ROLLBACK_TEST_BINARY");
  command.argv = {other && *other ? other : ROLLBACK_BINARY};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  for (const auto& [k, v] : env) command.env[k] = v;
  command.unset_env = {"NO_COLOR_UNUSED"};
  command.capture_limit = 4 * 1024 * 1024;
  command.timeout = std::chrono::minutes(10);
  if (!cwd.empty()) command.cwd = cwd;
  auto done = runner.run(command);
  if (!done) return {-1, "", done.error().message};
  return {done->exit_code, done->out, done->err};
}

std::string report_path_of(const std::string& out) {
  // "report: PATH", or in a Spanish plan's run "reporte: PATH": whichever comes last.
  size_t at = std::string::npos, skip = 0;
  for (std::string_view label : {"report: ", "reporte: "})
    if (auto found = out.rfind(label); found != std::string::npos && (at == std::string::npos || found > at)) {
      at = found;
      skip = label.size();
    }
  if (at == std::string::npos) return {};
  auto path = out.substr(at + skip);
  path.erase(path.find_last_not_of('\n') + 1);
  return path;
}

fs::path fixture(const std::string& relative) {
  return fs::path(ROLLBACK_SOURCE_DIR) / "tests" / "fixtures" / relative;
}

}  // namespace testing
