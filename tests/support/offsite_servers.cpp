#include "support/offsite_servers.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "support/child_process.hpp"
#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace testing {

OffsiteServer::~OffsiteServer() { end_child(pid_); }

// Debian's rclone 1.60 cannot use AWS_CA_BUNDLE with its own HTTP client (some CI hosts
// set it): every S3 command would fail. The servers here are plain HTTP on loopback. And
// rclone writes what it learns of an SFTP server into its config file: a file of the test
// process's own, never the user's ~/.config/rclone.
void private_rclone_env(const fs::path& dir) {
  ::unsetenv("AWS_CA_BUNDLE");
  ::setenv("RCLONE_CONFIG", (dir / "rclone.conf").c_str(), 1);
}

namespace {

constexpr const char* kBucket = "rollback";

// rclone answers once the server does: a listing of the remote's root within `seconds`.
bool answers(const OffsiteServer& server, const std::string& what, int seconds) {
  auto env = server.rclone_env("probe");
  std::vector<std::string> argv{"env"};
  for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
  argv.insert(argv.end(), {"rclone", "lsf", "--", server.remote("probe", what)});
  for (int i = 0; i < seconds * 4; ++i) {
    if (run_program(argv).exit_code == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

fs::path make_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / fmt::format("rollback-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  private_rclone_env(dir);
  return dir;
}

class S3Server final : public OffsiteServer {
 public:
  S3Server() {
    auto node = find_binary("ROLLBACK_NODE", {"node", "nodejs"});
    auto s3rver = fs::path(ROLLBACK_SOURCE_DIR) / "tests/offsite/node_modules/s3rver/bin/s3rver.js";
    if (node.empty() || !fs::exists(s3rver) || find_binary(nullptr, {"rclone"}).empty())
      skip("no S3 server: scripts/setup installs rclone, node and tests/offsite's s3rver");
    dir_ = make_dir("s3");
    fs::create_directories(dir_ / "data");
    port_ = unused_port();
    pid_ = spawn_child({node, s3rver.string(), "--directory", (dir_ / "data").string(), "--address", "127.0.0.1",
                        "--port", std::to_string(port_), "--configure-bucket", kBucket, "--silent"},
                       dir_ / "s3rver.log");
    if (!answers(*this, "", 20)) skip("s3rver did not answer: " + read_text(dir_ / "s3rver.log"));
  }
  std::map<std::string, std::string> rclone_env(const std::string& name) const override {
    auto prefix = "RCLONE_CONFIG_" + upper(name) + "_";
    return {{prefix + "TYPE", "s3"},
            {prefix + "PROVIDER", "Other"},
            {prefix + "ENDPOINT", fmt::format("http://127.0.0.1:{}", port_)},
            {prefix + "ACCESS_KEY_ID", "S3RVER"},
            {prefix + "SECRET_ACCESS_KEY", "S3RVER"}};
  }
  std::string remote(const std::string& name, const std::string& path) const override {
    return fmt::format("{}:{}{}{}", name, kBucket, path.empty() ? "" : "/", path);
  }
  // s3rver keeps an object's bytes in <dir>/<bucket>/<key>._S3rver_object.
  fs::path object_file(const std::string& path) const override {
    return dir_ / "data" / kBucket / (path + "._S3rver_object");
  }
  static std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }
};

class SftpServer final : public OffsiteServer {
 public:
  SftpServer() {
    auto rclone = find_binary(nullptr, {"rclone"});
    if (rclone.empty()) skip("no rclone: scripts/setup installs it");
    dir_ = make_dir("sftp");
    fs::create_directories(dir_ / "root");
    port_ = unused_port();
    obscured_ = trim_newline(run_program({"rclone", "obscure", kPassword}).out);
    pid_ = spawn_child({rclone, "serve", "sftp", "--addr", fmt::format("127.0.0.1:{}", port_), "--user", "backup",
                        "--pass", kPassword, "--", (dir_ / "root").string()},
                       dir_ / "sftp.log");
    if (!answers(*this, "", 20)) skip("rclone serve sftp did not answer: " + read_text(dir_ / "sftp.log"));
  }
  std::map<std::string, std::string> rclone_env(const std::string& name) const override {
    auto prefix = "RCLONE_CONFIG_" + S3Server::upper(name) + "_";
    return {{prefix + "TYPE", "sftp"},
            {prefix + "HOST", "127.0.0.1"},
            {prefix + "PORT", std::to_string(port_)},
            {prefix + "USER", "backup"},
            {prefix + "PASS", obscured_},
            // What rclone would otherwise probe for and save in its config file.
            {prefix + "SHELL_TYPE", "unix"},
            {prefix + "MD5SUM_COMMAND", "md5sum"},
            {prefix + "SHA1SUM_COMMAND", "sha1sum"}};
  }
  std::string remote(const std::string& name, const std::string& path) const override {
    return fmt::format("{}:{}", name, path);
  }
  fs::path object_file(const std::string& path) const override { return dir_ / "root" / path; }

 private:
  static constexpr const char* kPassword = "sftp-test-password";
  std::string obscured_;
  static std::string trim_newline(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
};

}  // namespace

OffsiteServer& shared_s3_server() {
  static S3Server server;
  return server;
}

OffsiteServer& shared_sftp_server() {
  static SftpServer server;
  return server;
}

}  // namespace testing
