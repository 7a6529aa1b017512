// `rollback schema`: the JSON Schema for plan files (plan/json_schema.hpp), for editors
// (the shipped plans name docs/plan.schema.json in a yaml-language-server modeline).
#include <cstdio>

#include <rollback/actions/action.hpp>
#include <rollback/cli/commands.hpp>
#include <rollback/plan/json_schema.hpp>

namespace rollback::cli {

void add_schema_command(CLI::App& app, GlobalOptions&, Selected& selected) {
  auto* sub = app.add_subcommand("schema", "Print the JSON Schema (draft 2020-12) of plan files, for editors");
  sub->final_callback([&selected] {
    selected = [] {
      std::printf("%s\n", plan::plan_json_schema(actions::builtin_registry()).dump(2).c_str());
      return 0;
    };
  });
}

}  // namespace rollback::cli
