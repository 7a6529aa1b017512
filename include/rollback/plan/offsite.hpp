// Off-host copies of dir targets (`offsite:` in a plan): where a backup copies each target
// once it commits, and where a rollback finds the targets the host lost. The transport is
// rclone's (src/actions/rclone.cpp), added to the TargetSources by the action registry, so
// the engine reaches it without knowing the program behind it.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rollback/util/result.hpp>

namespace rollback::plan {

// "" when `remote` names an rclone remote and a path on it ("s3:bucket/staging",
// "vault:"), else why not. A local path, an option, or an inline ":backend,key=...:"
// remote (its keys would show in every process listing) are refused.
std::string check_remote(std::string_view remote);

// Where target `name` lives on `remote`: "s3:bucket/staging/NAME", "vault:NAME".
std::string offsite_path(std::string_view remote, std::string_view name);

// The bound `offsite:` of one run: remote and RCLONE_* environment, secrets resolved.
struct OffsiteRemote {
  std::string remote;
  std::map<std::string, std::string> env;
  std::optional<int> keep;
};

struct Plan;
class Scope;
// The plan's `offsite:` with ${...} resolved in `scope`; nullopt when the plan has none, or
// its remote is written with ${vars} that are bound empty. Refuses a bound remote
// check_remote refuses.
Result<std::optional<OffsiteRemote>> bind_offsite(const Plan& plan, const Scope& scope);

// One target folder on the remote.
struct OffsiteTarget {
  std::string name;
  unsigned long long size_bytes = 0;
  std::chrono::system_clock::time_point modified{};  // its newest file's
  bool complete = false;  // the push finished and checked (its marker is there)
};

// What was proved of a pushed copy: how it was checked ("sha256", "md5", "read back",
// "cryptcheck") and the bytes it holds.
struct OffsiteCheck {
  std::string method;
  unsigned long long bytes = 0;
  int files = 0;
};

struct OffsiteTransport {
  // Copies the local target folder to <remote>/<name>, then checks every file there
  // against the local copy (sizes, and hashes where the backend has them, else by reading
  // back). Fails naming the file that differs; the local copy is left as it is.
  std::function<Result<OffsiteCheck>(const OffsiteRemote&, const std::filesystem::path& folder,
                                     const std::string& name)>
      push;
  // The target folders at the top of the remote path, any order.
  std::function<Result<std::vector<OffsiteTarget>>(const OffsiteRemote&)> list;
  // Downloads <remote>/<name> into `into` (an empty folder), each file checked as it comes
  // (sizes, and the hash the backend keeps), then checks the folder against what the push
  // recorded (files, bytes). Fails on any difference; what it wrote is the caller's to remove.
  std::function<Result<OffsiteCheck>(const OffsiteRemote&, const std::string& name,
                                     const std::filesystem::path& into)>
      fetch;
  // Removes <remote>/<name> whole (retention on the remote).
  std::function<Status(const OffsiteRemote&, const std::string& name)> remove;
};

}  // namespace rollback::plan
