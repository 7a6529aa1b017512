// Logging: spdlog to stderr through a sink that redacts every registered secret, so no
// log line can carry one whatever the call site forgot.
#pragma once

namespace rollback {

// verbosity: -1 quiet (warnings and errors), 0 normal (info), 1 debug, 2+ trace.
void setup_logging(int verbosity);

}  // namespace rollback
