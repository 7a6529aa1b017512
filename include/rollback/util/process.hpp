// Signalling another process safely: only one that runs this same program as this same
// user, through a pidfd so a PID reused meanwhile is never hit.
#pragma once

#include <rollback/util/result.hpp>

namespace rollback {

// Sends `sig` to `pid` when /proc/PID/exe is this program's own binary and the process
// belongs to this effective user; else an error saying why it was not sent.
Status signal_same_program(long pid, int sig);

}  // namespace rollback
