// What every subcommand shares: global options, where plans and state live, loading a
// plan with its diagnostics printed, and the operator's name.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/plan/plan.hpp>
#include <rollback/proc/runner.hpp>

namespace rollback::cli {

struct GlobalOptions {
  std::string plans_dir;   // --plans-dir
  std::string state_dir;   // --state-dir
  bool trust_plans_dir = false;  // --trust-plans-dir: read plans and vars files whoever owns them
  bool json = false;       // --json: machine-readable stdout
  int verbose = 0;         // -v (repeatable)
  bool quiet = false;      // -q
  int verbosity() const { return quiet ? -1 : verbose; }
};

// Where plans are looked up by name, in order: --plans-dir, else $ROLLBACK_PLANS, else
// ./plans (never for root), else /etc/rollback/plans then /usr/share/rollback/plans (the
// packaged plans; a plan of the same name in /etc overrides one). Every plan file found is
// checked by untrusted_input before it is read.
std::vector<std::filesystem::path> plan_search_path(const GlobalOptions& options);
// --state-dir, else $ROLLBACK_STATE, else $XDG_STATE_HOME/rollback, else
// ~/.local/state/rollback (/var/lib/rollback for root), made absolute. A state dir another
// user could have planted or can write (util/trust.hpp), or none at all (no HOME), is
// refused: the error is printed and Refused thrown (cli::main exits 2).
std::filesystem::path state_dir(const GlobalOptions& options);

// A refusal already printed; cli::main turns it into exit 2.
struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Why a plan or vars file at `path` is refused ("" when it is not): another user owns or
// can write it or a folder above it (util/trust.hpp), unless --trust-plans-dir.
std::string untrusted_input(const std::filesystem::path& path, const GlobalOptions& options, std::string_view what);

// untrusted_input for a --vars file (none given: true); prints the refusal.
bool vars_file_trusted(const std::string& vars_file, const GlobalOptions& options);

// Finds and loads a plan; prints every diagnostic to stderr. nullopt = exit 2.
std::optional<plan::Plan> load_plan_or_report(const std::string& name_or_path,
                                              const GlobalOptions& options);

std::string login_name();
// The process runner the commands hand to the engine (the engine spawns, never the CLI).
inline proc::Runner& system_runner() { return proc::system_runner(); }
std::string host_name();

// "error: ..." on stderr (redacted). Kept too, for the error document under --json.
void print_error(const std::string& message);

// Under --json every command prints exactly one JSON document on stdout, errors included:
// emit_json prints it (redacted); a command that ends without having emitted one gets
// {"error", "errors", "exit_code"} from cli::main, naming what print_error said.
void emit_json(const nlohmann::json& document);
// A run under --json prints JSON Lines instead (report/json_lines.hpp); its last line, the
// run's summary, goes through here: one line, redacted, and it counts as the document.
void emit_json_line(const nlohmann::json& document);
bool json_emitted();
const std::vector<std::string>& printed_errors();

}  // namespace rollback::cli
