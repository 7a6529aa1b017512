// The exit codes of shared/spec.md: scripts and monitoring depend on these numbers.
#pragma once

#include <string_view>

namespace rollback {

enum class ExitCode : int {
  Success = 0,
  StepFailed = 1,       // a step failed during the run; the report says where
  Usage = 2,            // usage or plan error; nothing ran
  Locked = 3,           // another run holds the lock
  PreflightFailed = 4,  // nothing was changed
  VerifyFailed = 5,     // the rollback ran but post-rollback verification failed
  CheckWarning = 10,
  CheckCritical = 11,
  Interrupted = 130,
};

constexpr int to_int(ExitCode code) { return static_cast<int>(code); }

// "succeeded", "step failed", "verification failed"...: the outcome in a few words
// (notifications' ${run.result}, the summary line).
constexpr std::string_view result_word(ExitCode code) {
  switch (code) {
    case ExitCode::Success: return "succeeded";
    case ExitCode::StepFailed: return "step failed";
    case ExitCode::Usage: return "refused";
    case ExitCode::Locked: return "another run holds the lock";
    case ExitCode::PreflightFailed: return "stopped at preflight, nothing changed";
    case ExitCode::VerifyFailed: return "verification failed";
    case ExitCode::Interrupted: return "interrupted";
    default: return "ended";
  }
}

}  // namespace rollback
