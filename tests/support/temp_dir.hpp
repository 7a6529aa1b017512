// Test helpers: a temp dir per test (removed on success, kept and printed on failure, as
// ccache's tests do), skipping when a real service is absent, and running the binary.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& child) const { return path_ / child; }

 private:
  std::filesystem::path path_;
  int uncaught_at_start_;
};

// Ends the current test process with ctest's skip code (77). Each test case runs as its
// own process under ctest (catch_discover_tests), so this skips exactly one test.
[[noreturn]] void skip(const std::string& why);

void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built `rollback` binary (or $ROLLBACK_TEST_BINARY) with `args` (argv, no shell)
// and optional extra env.
CommandResult run_rollback(const std::vector<std::string>& args,
                           const std::vector<std::pair<std::string, std::string>>& env = {},
                           const std::filesystem::path& cwd = {});

// Runs any program (argv) and returns its exit code and output.
CommandResult run_program(const std::vector<std::string>& argv,
                          const std::filesystem::path& cwd = {});

// The report path a run prints as its last line ("report: PATH", or "reporte: PATH" for a
// plan whose report.lang is es); "" when absent.
std::string report_path_of(const std::string& out);

// A file in tests/fixtures.
std::filesystem::path fixture(const std::string& relative);

}  // namespace testing
