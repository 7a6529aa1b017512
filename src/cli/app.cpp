#include <rollback/cli/app.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <fmt/format.h>

#include <rollback/cli/commands.hpp>
#include <rollback/plan/loader.hpp>
#include <rollback/util/text.hpp>
#include <rollback/util/exit_code.hpp>
#include <rollback/util/log.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::cli {
namespace {

using AddCommand = void (*)(CLI::App&, GlobalOptions&, Selected&);

// The subcommand table (ninja's `Tool` list): help and suggestions come from here.
constexpr AddCommand kCommands[] = {
    add_run_command,     add_backup_command,  add_validate_command, add_list_command,
    add_targets_command, add_rehearse_command, add_check_command,   add_watch_command,
    add_resume_command,  add_history_command,  add_version_command, add_schema_command,
};

// `rollback histroy`: a word that is no plan but is one edit from a command is a typo of
// the command, not a plan to look for. nullopt when that is not the case.
std::optional<std::string> mistyped_command(const CLI::App& app, const GlobalOptions& global,
                                            const std::string& word) {
  if (word.find('/') != std::string::npos || word.ends_with(".yaml") || word.ends_with(".yml")) return std::nullopt;
  if (plan::find_plan(word, plan_search_path(global))) return std::nullopt;
  std::vector<std::string> commands;
  for (const auto* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
  auto best = did_you_mean(word, commands);
  if (best.empty()) return std::nullopt;
  return best;
}

// `rollback` alone: what a newcomer runs first, and where the documentation is. Exit 2
// (no command was given), so a script that forgot its arguments still fails.
constexpr const char* kStartHere =
    "rollback: rollback runbooks for Docker Compose and Coolify stacks, as YAML plans.\n"
    "\n"
    "Start here:\n"
    "  scripts/demo            from a clone of the source: build, start a demo stack, break it, roll it back\n"
    "  rollback list           the plans there are, with their description and time budget\n"
    "  rollback targets PLAN   what PLAN can roll back to, newest first, and whether each verifies\n"
    "\n"
    "Then `rollback PLAN --dry-run` changes nothing; `rollback --help` lists every command and option.\n"
    "Docs: `man rollback`; README.md and docs/ in the source (/usr/share/doc/rollback when installed).\n";

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"rollback: run rollback plans for Docker Compose / Coolify stacks safely",
               "rollback"};
  app.footer("Exit codes: 0 ok, 1 step failed, 2 usage or plan error, 3 locked, 4 preflight "
             "failed, 5 verification failed, 10/11 check warning/critical, 130 interrupted.");
  GlobalOptions global;
  app.add_option("--plans-dir", global.plans_dir, "Where plans are looked up by name");
  app.add_option("--state-dir", global.state_dir, "Where runs, journals, reports and the lock live");
  app.add_flag("--trust-plans-dir", global.trust_plans_dir,
               "DANGEROUS: read plans and --vars files even when another user owns or can write them (or "
               "a folder above them); they run as you");
  app.add_flag("--json", global.json, "Machine-readable output on stdout; logs go to stderr");
  app.add_flag("-v,--verbose", global.verbose, "More log output (repeatable)");
  app.add_flag("-q,--quiet", global.quiet, "Only failures and the final line");
  bool version = false;
  app.add_flag("--version", version, "Print the version (the same as `rollback version`)");

  // `rollback PLAN [options]` is `rollback run PLAN [options]`.
  RunArgs direct;
  app.add_option("plan", direct.plan, "Plan name (in the plans dir) or path to a .yaml");
  add_run_options(app, direct);

  Selected selected;
  for (auto add : kCommands) add(app, global, selected);
  for (auto* sub : app.get_subcommands({})) sub->fallthrough();
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\n", redact(e.what()).c_str());  // may quote an argument's value
    std::fprintf(stderr, "Run 'rollback --help' for usage. Nothing ran.\n");
    // The parse failed, so --json was not parsed either: look for it by hand.
    for (int i = 1; i < argc; ++i)
      if (std::string_view(argv[i]) == "--json")
        emit_json_line({{"error", e.what()}, {"errors", {e.what()}}, {"exit_code", to_int(ExitCode::Usage)}});
    return to_int(ExitCode::Usage);
  }

  setup_logging(global.verbosity());
  if (version) {
    selected = [&] { return print_version(global); };
  } else if (!selected) {
    if (direct.plan.empty()) {
      selected = [&] {
        if (global.json) print_error("no command or plan given; run 'rollback --help' for usage");
        else std::fputs(kStartHere, stdout);
        return to_int(ExitCode::Usage);
      };
    } else if (auto command = mistyped_command(app, global, direct.plan)) {
      selected = [&, command] {
        print_error(fmt::format("'{}' is neither a command nor a plan; did you mean `rollback {}`? Run 'rollback --help' "
                                "for usage. Nothing ran.",
                                direct.plan, *command));
        return to_int(ExitCode::Usage);
      };
    } else {
      selected = [&] { return run_plan(global, direct); };
    }
  }
  int code = to_int(ExitCode::StepFailed);
  try {
    code = selected();
  } catch (const Refused&) {
    code = to_int(ExitCode::Usage);  // the reason is printed already
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
  }
  if (global.json && !json_emitted()) {
    const auto& errors = printed_errors();
    std::string first = errors.empty() ? "exit " + std::to_string(code) : errors.front();
    emit_json_line({{"error", first}, {"errors", errors}, {"exit_code", code}});
  }
  return code;
}

}  // namespace rollback::cli
