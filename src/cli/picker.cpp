// The picker: a plan whose default is `none` run on a terminal without --target shows the
// `targets` table, numbered, newest first, and takes the operator's number (shared/spec.md,
// --target). Without a terminal the caller refuses with exit 2 instead; nothing here runs.
#include <cstdio>
#include <fmt/format.h>
#include <iostream>

#include <rollback/cli/run_support.hpp>
#include <rollback/cli/target_table.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::cli {

int pick_on_terminal(const plan::Plan& plan, const plan::Scope& scope,
                     const std::map<std::string, std::string>& overrides, std::optional<plan::Target>& picked) {
  auto rows = target_rows(plan, scope, overrides);
  if (!rows) {
    print_error(fmt::format("cannot list the targets of plan '{}': {}. Nothing ran.", plan.name, rows.error().message));
    return to_int(ExitCode::PreflightFailed);
  }
  if (rows->empty()) {
    print_error(fmt::format("plan '{}' needs a target and there is none (`rollback targets {}`). Nothing ran.",
                            plan.name, plan.name));
    return to_int(ExitCode::PreflightFailed);
  }
  std::fprintf(stderr, "Plan '%s' needs a target. Targets, newest first:\n\n", plan.name.c_str());
  print_target_table(stderr, *rows, /*numbered=*/true);
  while (true) {
    std::fprintf(stderr, "\nPick a target by number (1-%zu), or press Enter to stop: ", rows->size());
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer) || trim(answer).empty()) {
      print_error("no target picked. Nothing ran.");
      return to_int(ExitCode::Usage);
    }
    size_t number = 0;
    auto text = std::string(trim(answer));
    bool numeric = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() < 6;
    if (numeric) number = std::stoul(text);
    if (number < 1 || number > rows->size()) {
      std::fprintf(stderr, "'%s' is not a number from the table.\n", redact(text).c_str());
      continue;
    }
    const auto& row = (*rows)[number - 1];
    if (!row.check.ok) {
      std::fprintf(stderr, "%s does not verify (%s); pick another.\n", row.target.name.c_str(),
                   redact(row.check.problems.empty() ? "" : row.check.problems.front()).c_str());
      continue;
    }
    std::fprintf(stderr, "Target: %s\n", row.target.name.c_str());
    picked = row.target;
    return 0;
  }
}

}  // namespace rollback::cli
