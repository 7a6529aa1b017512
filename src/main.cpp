// The executable: a dispatcher over the subcommands in src/cli/. Nothing else lives here.
#include <rollback/cli/app.hpp>

int main(int argc, char** argv) { return rollback::cli::main(argc, argv); }
