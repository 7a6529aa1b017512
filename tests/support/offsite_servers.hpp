// Real off-host stores on loopback for the offsite: tests, started once per test process
// and stopped with it (support/child_process.hpp):
//   S3    s3rver (npm, pinned in tests/offsite/package.json, installed by scripts/setup),
//         one bucket; it takes any credentials, so wrong ones are checked elsewhere.
//   SFTP  `rclone serve sftp` with a user and password, over a folder of the test's.
// A missing program skips the test, or fails it under ROLLBACK_REQUIRE_SERVICES=1.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>

namespace testing {

class OffsiteServer {
 public:
  virtual ~OffsiteServer();
  // The RCLONE_* variables that define remote `name` on this server, for a plan's
  // offsite.env or rclone's environment.
  virtual std::map<std::string, std::string> rclone_env(const std::string& name) const = 0;
  // "NAME:<bucket or folder>" for remote `name`.
  virtual std::string remote(const std::string& name, const std::string& path) const = 0;
  // Where the server keeps an object on disk (to damage it as a failing disk would).
  virtual std::filesystem::path object_file(const std::string& path) const = 0;

 protected:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path dir_;
};

// rclone's environment for a test: no AWS_CA_BUNDLE (Debian 12's rclone cannot use it), and
// a config file of the test's own. The servers call it; a test with none of them too.
void private_rclone_env(const std::filesystem::path& dir);

OffsiteServer& shared_s3_server();
OffsiteServer& shared_sftp_server();

}  // namespace testing
