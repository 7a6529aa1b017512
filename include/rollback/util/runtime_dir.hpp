// The runtime dir: where a run keeps what lives only as long as it does (the FIFOs of its
// volume streams, the record of the containers it paused). Private to the user running
// rollback (0700, owned by it, never a symlink), on the machine that runs it, and apart
// from the backups: those may sit on a read-only or a shared mount.
//   ROLLBACK_RUNTIME_DIR, else /run/rollback for root, else $XDG_RUNTIME_DIR/rollback, else
//   /tmp/rollback-<uid>.
// Each run makes its own subdirs, named `<prefix>-<pid>.<start time>-XXXXXX`, so that a
// later run can tell the entries of a run that died (SIGKILL, power loss) from a live one's
// even after the PID was reused.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <rollback/util/result.hpp>

namespace rollback {

// The runtime dir's path (not created).
std::filesystem::path runtime_dir();

// Creates the runtime dir if needed and proves it private: a real folder owned by this
// user, mode 0700 (a looser mode of our own is tightened). Else an error naming why.
Result<std::filesystem::path> ensure_runtime_dir();

// "<pid>.<start time in clock ticks since boot>": this process, told apart from a later one
// that reuses its PID.
std::string this_process_token();
// True while the process named by a token from this_process_token() still runs.
bool process_token_alive(const std::string& token);

// Makes a new private subdir `<prefix>-<token>-XXXXXX` of the runtime dir. First, every
// `<prefix>-*` subdir left by a process that is gone is handed to `on_dead` (when given)
// and removed.
Result<std::filesystem::path> make_runtime_subdir(
    const std::string& prefix, const std::function<void(const std::filesystem::path&)>& on_dead = {});

// Hands every `<prefix>-*` subdir of a process that is gone to `on_dead`, then removes it.
void sweep_dead_runtime_subdirs(const std::string& prefix,
                                const std::function<void(const std::filesystem::path&)>& on_dead);

}  // namespace rollback
