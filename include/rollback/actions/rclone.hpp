// The off-host transport (plan/offsite.hpp) through rclone, spawned like docker and git:
// argv only, `--` before every remote or path, the remote's credentials in RCLONE_*
// environment variables the plan declares (offsite.env, secrets), never on a command line.
#pragma once

#include <rollback/plan/offsite.hpp>
#include <rollback/proc/runner.hpp>

namespace rollback::actions::rclone {

// The marker a push writes last, once every file checked: a folder on the remote without it
// is an upload that never finished, listed as incomplete and never restored from.
inline constexpr const char* kMarker = ".rollback-offsite.json";

plan::OffsiteTransport transport(proc::Runner& runner);

// Downloads the one object <remote.remote>/<key> to the file `to` (rclone copyto), the
// remote's environment on top of ours; an error says what rclone said last, redacted.
Status copy_object(proc::Runner& runner, const plan::OffsiteRemote& remote, const std::string& key,
                   const std::filesystem::path& to);

}  // namespace rollback::actions::rclone
