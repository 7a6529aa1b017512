// A server a test starts for itself (Prometheus, an S3 or SFTP server): a child that gets
// SIGTERM if the test process dies, so a test killed by ctest's timeout leaves nothing
// listening behind it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace testing {

// Starts args[0] (an absolute path) with args, stdin /dev/null, stdout and stderr to `log`.
pid_t spawn_child(const std::vector<std::string>& args, const std::filesystem::path& log);
// TERM, up to 5 s, then KILL; reaps it and sets pid to -1. Nothing for pid <= 0.
void end_child(pid_t& pid);
// The first of `names` found executable in /usr/bin, /usr/local/bin or /usr/sbin, or the
// path `env` names when set; "" when none.
std::string find_binary(const char* env, const std::vector<std::string>& names);

}  // namespace testing
