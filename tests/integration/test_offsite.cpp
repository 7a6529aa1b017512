// Off-host copies (`offsite:`) through rclone against real servers on loopback: an S3 server
// (s3rver) and an SFTP server (rclone serve sftp). A backup copies its committed target there
// and checks it there; `targets` says where each target lives; a copy that cannot be made
// fails the backup and leaves the verified local one; the remote keeps its own `keep`.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/offsite_servers.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using testing::read_text;
using testing::write_text;

namespace {

// A backup plan of two files (one of them 3 MB of noise) into staging-<time>, with a
// SHA256SUMS, copied off-host to `remote` defined by `env` (offsite.env).
std::string backup_plan(const fs::path& src, const fs::path& backups, const std::string& remote,
                        const std::map<std::string, std::string>& env, int keep) {
  std::string env_yaml;
  for (const auto& [k, v] : env) env_yaml += fmt::format("    {}: \"{}\"\n", k, v);
  return fmt::format(R"(version: 1
name: files-backup
kind: backup
vars:
  src: {0}
  backups: {1}
  name: staging-${{run.started}}
target:
  from: dir
  dir: ${{backups}}
  glob: "staging-*"
  makes: ${{name}}
  require: [app.env, data.bin]
offsite:
  remote: "{2}"
  keep: {3}
  env:
{4}steps:
  - {{id: dir, action: fs.mkdir, with: {{path: "${{target.path}}"}}}}
  - {{id: env, action: fs.copy, with: {{from: "${{src}}/app.env", to: "${{target.path}}/app.env"}}}}
  - {{id: data, action: fs.copy, with: {{from: "${{src}}/data.bin", to: "${{target.path}}/data.bin"}}}}
  - {{id: sums, action: fs.checksum, with: {{dir: "${{target.path}}", mode: write}}}}
)",
                     src.string(), backups.string(), remote, keep, env_yaml);
}

struct Scene {
  testing::TempDir dir;
  fs::path src = dir / "src", backups = dir / "backups", state = dir / "state";
  Scene() {
    write_text(src / "app.env", "TOKEN=marker-4f1c\n");
    std::string noise(3 << 20, '\0');
    for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 2654435761u) >> 13);
    write_text(src / "data.bin", noise);
    fs::create_directories(backups);
    fs::permissions(backups, fs::perms::owner_all);
  }
  testing::CommandResult rollback(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state.string()});
    return testing::run_rollback(args);
  }
  nlohmann::json targets() {
    auto r = rollback({"--json", "targets", (dir / "backup.yaml").string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
  }
};

std::string location_of(const nlohmann::json& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r["name"] == name) return r.value("location", "");
  return "absent";
}

void backup_copies_and_lists(testing::OffsiteServer& server, const std::string& folder) {
  Scene s;
  auto remote = server.remote("offsite", folder);
  write_text(s.dir / "backup.yaml", backup_plan(s.src, s.backups, remote, server.rclone_env("offsite"), 5));
  auto made = s.rollback({"backup", (s.dir / "backup.yaml").string(), "--yes"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  std::string name = fs::directory_iterator(s.backups)->path().filename().string();
  CHECK_THAT(made.out, Catch::Contains(fmt::format("off-host copy: {} at {}/{} (3 file(s)", name, remote, name)));
  // Byte for byte on the server's own disk.
  CHECK(read_text(server.object_file(folder + "/" + name + "/data.bin")) == read_text(s.src / "data.bin"));
  auto report = nlohmann::json::parse(
      read_text(fs::path(testing::report_path_of(made.out)).replace_extension(".json")));
  CHECK(report["extra"]["offsite"]["ok"] == true);
  CHECK(report["extra"]["offsite"]["files"] == 3);

  CHECK(location_of(s.targets(), name) == "both");
  fs::remove_all(s.backups / name);  // the host lost its copy
  auto rows = s.targets();
  CHECK(location_of(rows, name) == "offsite");
  auto table = s.rollback({"targets", (s.dir / "backup.yaml").string()});
  CHECK_THAT(table.out, Catch::Contains("WHERE") && Catch::Contains("offsite  on fetch"));
}

}  // namespace

TEST_CASE("a backup with offsite: copies the committed target to S3, checks it there, and targets says both, then "
          "offsite once the host lost it",
          "[offsite][s3]") {
  backup_copies_and_lists(testing::shared_s3_server(), "copies-" + std::to_string(::getpid()));
}

TEST_CASE("a backup with offsite: copies the committed target over SFTP, checks it there, and targets says both, "
          "then offsite once the host lost it",
          "[offsite][sftp]") {
  backup_copies_and_lists(testing::shared_sftp_server(), "copies-" + std::to_string(::getpid()));
}

TEST_CASE("an off-host copy that cannot be made fails the backup with exit 1, says so, and keeps the verified local "
          "copy",
          "[offsite]") {
  Scene s;
  testing::private_rclone_env(s.dir.path());
  // An S3 remote where nothing listens.
  std::map<std::string, std::string> env = {{"RCLONE_CONFIG_GONE_TYPE", "s3"},
                                            {"RCLONE_CONFIG_GONE_PROVIDER", "Other"},
                                            {"RCLONE_CONFIG_GONE_ENDPOINT", "http://127.0.0.1:9"},
                                            {"RCLONE_CONFIG_GONE_ACCESS_KEY_ID", "k"},
                                            {"RCLONE_CONFIG_GONE_SECRET_ACCESS_KEY", "s"},
                                            {"RCLONE_LOW_LEVEL_RETRIES", "1"},
                                            {"RCLONE_RETRIES", "1"}};
  write_text(s.dir / "backup.yaml", backup_plan(s.src, s.backups, "gone:bucket/x", env, 3));
  auto made = s.rollback({"backup", (s.dir / "backup.yaml").string(), "--yes"});
  INFO(made.out << made.err);
  CHECK(made.exit_code == 1);
  CHECK_THAT(made.out + made.err, Catch::Contains("off-host copy failed: copying to gone:bucket/x/staging-"));
  REQUIRE(std::distance(fs::directory_iterator(s.backups), fs::directory_iterator{}) == 1);
  auto local = fs::directory_iterator(s.backups)->path();
  CHECK(read_text(local / "data.bin") == read_text(s.src / "data.bin"));
  auto report = nlohmann::json::parse(
      read_text(fs::path(testing::report_path_of(made.out)).replace_extension(".json")));
  CHECK_THAT(report["result"]["message"].get<std::string>(),
             Catch::Contains("the verified local copy stays at " + local.string()));
  // rclone's summary line, on one line, not its log of every retry.
  CHECK_THAT(report["extra"]["offsite"]["error"].get<std::string>(),
             Catch::Contains("Failed to copy: ") && !Catch::Contains("\n") && Catch::Contains("connection refused"));
}

TEST_CASE("offsite.keep keeps the remote's newest copies and prunes older ones after a backup", "[offsite][s3]") {
  auto& server = testing::shared_s3_server();
  Scene s;
  auto folder = "keep-" + std::to_string(::getpid());
  auto remote = server.remote("offsite", folder);
  write_text(s.dir / "backup.yaml", backup_plan(s.src, s.backups, remote, server.rclone_env("offsite"), 2));
  std::vector<std::string> outs;
  for (int i = 0; i < 3; ++i) {
    auto made = s.rollback({"backup", (s.dir / "backup.yaml").string(), "--yes"});
    INFO(made.out << made.err);
    REQUIRE(made.exit_code == 0);
    outs.push_back(made.out);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // ${run.started} has seconds
  }
  CHECK_THAT(outs[1], Catch::Contains("off-host retention: keep 2: nothing to prune"));
  CHECK_THAT(outs[2], Catch::Contains("off-host retention: keep 2: pruned staging-"));
  auto rows = s.targets();
  int offsite = 0;
  for (const auto& r : rows) offsite += r.value("location", "") == "both" ? 1 : 0;
  CHECK(offsite == 2);
}

TEST_CASE("a backup to a crypt remote over S3 leaves no plaintext on the server and is checked there by cryptcheck",
          "[offsite][s3][crypt]") {
  auto& server = testing::shared_s3_server();
  Scene s;
  auto folder = "vault-" + std::to_string(::getpid());
  auto env = server.rclone_env("offsite");
  auto password = testing::run_program({"rclone", "obscure", "a-long-passphrase"}).out;
  while (!password.empty() && password.back() == '\n') password.pop_back();
  env["RCLONE_CONFIG_VAULT_TYPE"] = "crypt";
  env["RCLONE_CONFIG_VAULT_REMOTE"] = server.remote("offsite", folder);
  env["RCLONE_CONFIG_VAULT_PASSWORD"] = password;
  write_text(s.dir / "backup.yaml", backup_plan(s.src, s.backups, "vault:", env, 5));
  auto made = s.rollback({"backup", (s.dir / "backup.yaml").string(), "--yes"});
  INFO(made.out << made.err);
  REQUIRE(made.exit_code == 0);
  CHECK_THAT(made.out, Catch::Contains("checked there by cryptcheck"));
  // Every object the server holds for this folder: none holds the marker, nor a file name.
  auto root = server.object_file(folder).parent_path() / folder;
  size_t objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    ++objects;
    CHECK(read_text(e.path()).find("marker-4f1c") == std::string::npos);
    CHECK(e.path().string().find("app.env") == std::string::npos);
  }
  CHECK(objects >= 4);  // three files and the marker
  std::string name = fs::directory_iterator(s.backups)->path().filename().string();
  CHECK(location_of(s.targets(), name) == "both");
}
