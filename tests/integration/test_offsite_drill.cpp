// The disaster drill of issue 25, on the demo stack and the shipped plans: back up with an
// off-host copy, lose the host's backups folder whole (`rm -rf`), break the stack, and
// `rollback quick --target latest` restores from the off-host copy byte for byte, over S3,
// over SFTP, and through an encrypted (crypt) remote. A copy damaged on the server is
// refused before anything stops. One stack serves every round.
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "docker_stack.hpp"
#include "support/offsite_servers.hpp"

namespace fs = std::filesystem;
using dockertest::Stack;

namespace {

// rclone's environment for the `rollback` the test starts: the shipped plans name the remote
// by one var, and its definition (RCLONE_CONFIG_*) comes from the environment, as from cron.
struct RcloneEnv {
  std::map<std::string, std::string> vars;
  explicit RcloneEnv(std::map<std::string, std::string> v) : vars(std::move(v)) {
    for (const auto& [k, value] : vars) ::setenv(k.c_str(), value.c_str(), 1);
  }
  ~RcloneEnv() {
    for (const auto& [k, value] : vars) ::unsetenv(k.c_str());
  }
};

// Every file of a folder, by relative name, with its bytes.
std::map<std::string, std::string> files_of(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      out[fs::relative(e.path(), root).string()] = testing::read_text(e.path());
  return out;
}

struct Round {
  std::string backup_name;
  std::map<std::string, std::string> backed_up;  // the target's files as the backup made them
};

// Backs up to `remote`, keeps the target's bytes, then loses the host's backups folder whole.
Round back_up_then_lose_the_host(Stack& s, const std::string& remote) {
  auto backup = s.rollback("backup", {"--var", "offsite_remote=" + remote});
  REQUIRE(backup.exit_code == 0);
  REQUIRE_THAT(backup.out, Catch::Contains("off-host copy: staging-"));
  auto made = s.targets("staging-");
  REQUIRE(made.size() == 1);
  Round round{made[0].filename().string(), files_of(made[0])};
  fs::remove_all(s.backups);  // the disk that held them is gone
  return round;
}

// quick --target latest, from the off-host copy only; the stack is back as it was backed up.
void restore_from_offsite(Stack& s, const std::string& remote, const Round& round,
                          const std::string& good) {
  auto there = remote + (remote.ends_with(':') ? "" : "/") + round.backup_name;
  s.break_it();
  REQUIRE(s.state() != good);
  auto quick =
      s.rollback("quick", {"--target", "latest", "--yes", "--var", "offsite_remote=" + remote});
  REQUIRE(quick.exit_code == 0);
  CHECK(s.state() == good);
  CHECK(s.running("api"));
  CHECK(s.running("postgres"));
  CHECK_THAT(quick.out, Catch::Contains("target " + round.backup_name +
                                        " was only off-host: downloaded from " + there));
  // The local copy it kept is the backup, byte for byte, marked as downloaded.
  auto kept = s.backups / round.backup_name;
  auto got = files_of(kept);
  CHECK(got.erase(".rollback-downloaded.json") == 1);
  CHECK(got == round.backed_up);
  auto report = testing::read_text(testing::report_path_of(quick.out));
  CHECK_THAT(report, Catch::Contains("Restaurado desde la copia fuera del host: `" +
                                     round.backup_name + "` solo estaba en `" + there + "`"));
  auto json = nlohmann::json::parse(
      testing::read_text(fs::path(testing::report_path_of(quick.out)).replace_extension(".json")));
  CHECK(json["extra"]["offsite_download"]["kept_at"] == kept.string());
  fs::remove_all(s.backups);
}

}  // namespace

TEST_CASE(
    "disaster drill: with the host's backups folder gone quick restores the stack from the "
    "off-host copy "
    "byte for byte over S3 and SFTP and through a crypt remote",
    "[docker][e2e][offsite][drill]") {
  auto& s3 = testing::shared_s3_server();
  auto& sftp = testing::shared_sftp_server();
  Stack s;
  s.up_and_seed();
  auto good = s.state();
  auto run = std::to_string(::getpid());

  {  // S3
    RcloneEnv env(s3.rclone_env("drills3"));
    auto remote = s3.remote("drills3", "drill-" + run);
    auto round = back_up_then_lose_the_host(s, remote);
    // Without encryption the server holds the env file as it is: what the crypt round checks
    // is absent there would be found.
    auto env_file = s3.object_file("drill-" + run + "/" + round.backup_name + "/.env.staging");
    CHECK(testing::read_text(env_file).find("APP_VERSION") != std::string::npos);
    restore_from_offsite(s, remote, round, good);
  }
  {  // SFTP
    RcloneEnv env(sftp.rclone_env("drillsftp"));
    auto remote = sftp.remote("drillsftp", "drill-" + run);
    auto round = back_up_then_lose_the_host(s, remote);
    // A rehearsal of the restore takes the off-host copy the same way, production untouched.
    auto rehearsed =
        s.command("rehearse", "quick", {"--target", "latest", "--var", "offsite_remote=" + remote});
    CHECK(rehearsed.exit_code == 0);
    CHECK_THAT(rehearsed.out,
               Catch::Contains("was only off-host: downloaded from " + remote) &&
                   Catch::Contains("el ensayo probó el objetivo " + round.backup_name));
    CHECK(s.state() == good);
    fs::remove_all(s.backups);
    restore_from_offsite(s, remote, round, good);
  }
  {  // crypt over S3
    auto vars = s3.rclone_env("drillplain");
    auto password = testing::run_program({"rclone", "obscure", "drill-passphrase"}).out;
    while (!password.empty() && password.back() == '\n') password.pop_back();
    vars["RCLONE_CONFIG_DRILLVAULT_TYPE"] = "crypt";
    vars["RCLONE_CONFIG_DRILLVAULT_REMOTE"] = s3.remote("drillplain", "vault-" + run);
    vars["RCLONE_CONFIG_DRILLVAULT_PASSWORD"] = password;
    RcloneEnv env(vars);
    auto round = back_up_then_lose_the_host(s, "drillvault:");
    // Nothing on the server names the backup's files, in an object's name or its bytes
    // (SHA256SUMS and the compose file hold them in plaintext).
    auto root = s3.object_file("vault-" + run).parent_path() / ("vault-" + run);
    size_t objects = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      ++objects;
      CHECK(e.path().string().find("data.tar.zst") == std::string::npos);
      CHECK(testing::read_text(e.path()).find("data.tar.zst") == std::string::npos);
      CHECK(testing::read_text(e.path()).find("APP_VERSION") == std::string::npos);
    }
    CHECK(objects >= 6);
    restore_from_offsite(s, "drillvault:", round, good);
  }
}

TEST_CASE(
    "an off-host copy damaged on the server (one flipped byte) is refused before anything stops "
    "with exit 4",
    "[docker][e2e][offsite][drill]") {
  auto& s3 = testing::shared_s3_server();
  Stack s;
  s.up_and_seed();
  RcloneEnv env(s3.rclone_env("damaged"));
  auto folder = "damaged-" + std::to_string(::getpid());
  auto remote = s3.remote("damaged", folder);
  auto round = back_up_then_lose_the_host(s, remote);
  auto object = s3.object_file(folder + "/" + round.backup_name + "/data.tar.zst");
  auto bytes = testing::read_text(object);
  REQUIRE(bytes.size() > 100);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  testing::write_text(object, bytes);

  s.break_it();
  auto broken = s.state();
  auto quick =
      s.rollback("quick", {"--target", "latest", "--yes", "--var", "offsite_remote=" + remote});
  CHECK(quick.exit_code == 4);
  CHECK_THAT(quick.out + quick.err, Catch::Contains(remote + "/" + round.backup_name) &&
                                        Catch::Contains("nothing was changed"));
  CHECK(s.state() == broken);  // untouched: nothing stopped, nothing restored
  CHECK(s.running("api"));
  CHECK(s.running("postgres"));
  // Nothing of the damaged download stays behind.
  for (const auto& e : fs::directory_iterator(s.backups))
    CHECK(e.path().filename().string() == ".rollback-download.lock");
}
