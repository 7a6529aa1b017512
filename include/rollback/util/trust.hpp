// Whether a file or folder could have been planted or changed by another local user: the
// check `rollback` makes, running as root from cron, before it reads a plan, a vars file or
// a state dir (git's safe.directory, CVE-2022-24765, refuses the same pattern).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace rollback {

// "" when `path` and every folder above it up to / is owned by `user` or root and writable
// by nobody else; else why not, naming the entry, its owner and its mode ("/tmp/plans is
// owned by uid 65534 (nobody), mode 0755"). A folder owned by root with the sticky bit
// (/tmp) is accepted above `path`, never as `path` itself: there nobody can rename or
// replace another user's entries. A path that does not exist is judged by its folders.
std::string untrusted_reason(const std::filesystem::path& path, uid_t user);

// Why a state dir cannot be used ("" when it can): it must be a real folder (not a
// symlink), owned by `user`, and not writable by group or others; its folders above are
// checked as above. A state dir that does not exist yet is judged by its folders.
std::string unsafe_state_dir_reason(const std::filesystem::path& dir, uid_t user);

// "uid 65534 (nobody)".
std::string owner_text(uid_t uid);

}  // namespace rollback
