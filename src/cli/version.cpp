// `rollback version`.
#include <cstdio>

#include <rollback/cli/commands.hpp>

namespace rollback::cli {

void add_version_command(CLI::App& app, GlobalOptions& global, Selected& selected) {
  auto* sub = app.add_subcommand("version", "Print the version");
  sub->final_callback([&global, &selected] {
    selected = [&global] {
      if (global.json) emit_json({{"version", ROLLBACK_VERSION}});
      else std::printf("rollback %s\n", ROLLBACK_VERSION);
      return 0;
    };
  });
}

}  // namespace rollback::cli
