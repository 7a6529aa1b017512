// `rollback version` and `rollback --version`: the same text, the same exit code (0).
#include <cstdio>
#include <string>

#include <curl/curl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <zstd.h>

#include <rollback/cli/commands.hpp>
#include <rollback/util/build_info.hpp>

namespace rollback::cli {
namespace {

// libpq says 150005 for 15.5 (and 90624 for 9.6.24, before version 10).
std::string libpq_version() {
  int v = PQlibVersion();
  if (v >= 100000) return fmt::format("{}.{}", v / 10000, v % 10000);
  return fmt::format("{}.{}.{}", v / 10000, v / 100 % 100, v % 100);
}

}  // namespace

int print_version(const GlobalOptions& global) {
  // The libraries this binary runs with (bug reports need them: zstd does the archives,
  // libcurl the HTTP probes and notifications, libpq the database steps).
  std::string zstd = ZSTD_versionString();
  std::string curl = curl_version_info(CURLVERSION_NOW)->version;
  std::string pq = libpq_version();
  if (global.json) {
    emit_json({{"version", ROLLBACK_VERSION}, {"commit", build_commit()},
               {"libraries", {{"libzstd", zstd}, {"libcurl", curl}, {"libpq", pq}}}});
  } else {
    std::printf("rollback %s (commit %s)\nlibzstd %s, libcurl %s, libpq %s\n", ROLLBACK_VERSION, build_commit(),
                zstd.c_str(), curl.c_str(), pq.c_str());
  }
  return 0;
}

void add_version_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("version", "Print the version, the commit and the libraries' versions (also --version)");
  sub->final_callback([&global, &selected] {
    selected = [&global] { return print_version(global); };
  });
}

}  // namespace rollback::cli
