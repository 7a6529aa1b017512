// Turning a finished child's output into report material: shared by every adapter that
// runs programs.
#pragma once

#include <string>
#include <string_view>

#include <rollback/proc/runner.hpp>

namespace rollback::actions {

// The last `max_lines` lines of stderr then stdout, redacted; for Outcome::log_excerpt.
std::string output_excerpt(const proc::Completed& done, size_t max_lines = 40);

// The last non-empty line of stderr (or stdout), redacted: the usual "why" of a failure.
std::string last_error_line(const proc::Completed& done);

// The line that names the cause of a docker or compose failure ("port is already
// allocated", "Error response from daemon: ..."), else last_error_line().
std::string telling_error_line(const proc::Completed& done);

}  // namespace rollback::actions
