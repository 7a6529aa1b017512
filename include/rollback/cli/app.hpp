// The command line of shared/spec.md. Each subcommand lives in its own file under src/cli/
// and registers itself from the one table in src/cli/app.cpp.
#pragma once

namespace rollback::cli {

// Parses argv, runs the subcommand, returns the process exit code. Parse errors and --help
// return before any lock, state or side effect is touched.
int main(int argc, char** argv);

}  // namespace rollback::cli
