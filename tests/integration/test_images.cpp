// Images are checked before anything stops and pinned when the stack starts again (issue 14,
// field lesson 5, Kamal's pruned images): each test gives the demo stack's api an image of
// its own, made with `docker commit` so each version has its own ID.
#include <filesystem>

#include "docker_stack.hpp"
#include "targets_table.hpp"

namespace fs = std::filesystem;
using dockertest::docker_out;
using dockertest::docker_rc;
using dockertest::Stack;

namespace {

// The api's images: local/<unique>:TAG, each a commit of local/postgres:15 with a marker file.
struct Images {
  std::string repo = "local/" + dockertest::unique("rbimg");
  std::vector<std::string> made;
  std::string commit(const std::string& tag) {
    auto name = dockertest::unique("rbimg-make");
    REQUIRE(docker_rc({"run", "--name", name, "--entrypoint", "sh", dockertest::kPostgresImage, "-c",
                       "echo " + tag + " > /tmp/marker"}) == 0);
    auto id = docker_out({"commit", name, repo + ":" + tag});
    docker_rc({"rm", "-f", name});
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    REQUIRE(id.starts_with("sha256:"));
    made.push_back(id);
    return id;
  }
  ~Images() {
    for (const auto& id : made) docker_rc({"rmi", "-f", id});
  }
};

void use_api_image(Stack& s, const std::string& image) {
  auto compose = testing::read_text(s.stack / "docker-compose.yml");
  auto at = compose.find("  api:\n    image: ");
  REQUIRE(at != std::string::npos);
  auto start = at + std::string("  api:\n    image: ").size();
  compose.replace(start, compose.find('\n', start) - start, image);
  testing::write_text(s.stack / "docker-compose.yml", compose);
}

std::string api_image(const Stack& s) {
  auto id = docker_out({"inspect", "--format", "{{.Image}}", s.container("api")});
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

// Container ID and start time of each service: "nothing was stopped" means these are equal.
std::string containers(const Stack& s) {
  std::string out;
  for (const char* service : {"api", "postgres", "store"})
    out += docker_out({"inspect", "--format", "{{.Id}} {{.State.StartedAt}} {{.State.Running}}", s.container(service)});
  return out;
}

// What a bad deploy of v2 leaves: the api on image v2, v1 no longer used by any container.
void deploy(Stack& s, const std::string& image) {
  use_api_image(s, image);
  s.compose({"up", "-d"});
}

}  // namespace

TEST_CASE("a target whose recorded image is gone says 'image gone' in targets and stops quick with exit 4 before "
          "anything stops",
          "[docker][e2e][images]") {
  Stack s;
  Images images;
  auto v1 = images.commit("v1");
  use_api_image(s, images.repo + ":v1");
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto target = s.targets("staging-").at(0).filename().string();
  CHECK_THAT(testing::read_text(s.backups / target / "manifest.json"), Catch::Contains(v1));
  images.commit("v2");
  deploy(s, images.repo + ":v2");
  REQUIRE(docker_rc({"rmi", images.repo + ":v1"}) == 0);  // pruned
  auto before = containers(s);

  auto argv = s.args("quick");
  argv.erase(argv.begin() + 5, argv.begin() + 7);  // --operator ci: not an option of targets
  argv.insert(argv.begin(), "targets");
  auto listed = testing::run_rollback(argv);
  INFO(listed.out << listed.err);
  CHECK(targetstest::verdict(listed.out, target) == "NO");
  CHECK_THAT(targetstest::row(listed.out, target), Catch::Contains("image gone: service api"));

  auto quick = s.rollback("quick", {"--target", "latest", "--yes"});
  CHECK(quick.exit_code == 4);
  CHECK_THAT(quick.err, Catch::Contains("image gone: service api (" + images.repo + ":v1"));
  CHECK(containers(s) == before);  // nothing was stopped
}

TEST_CASE("an image the target's compose file names that is neither on the host nor pullable stops quick at "
          "preflight with exit 4, naming the service and the image, nothing stopped",
          "[docker][e2e][images]") {
  Stack s;
  Images images;
  images.commit("v1");
  use_api_image(s, images.repo + ":v1");
  s.up_and_seed();
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto target = s.targets("staging-").at(0);
  // A backup from before images were recorded: no manifest.json.
  fs::remove(target / "manifest.json");
  REQUIRE(testing::run_program({"sh", "-c", "cd \"$1\" && sha256sum docker-compose.yml .env.staging data.tar.zst "
                                             "pgdata.tar.zst > SHA256SUMS",
                                "reseal", target.string()})
              .exit_code == 0);
  images.commit("v2");
  deploy(s, images.repo + ":v2");
  REQUIRE(docker_rc({"rmi", images.repo + ":v1"}) == 0);
  auto before = containers(s);
  auto state = s.state();

  auto quick = s.rollback("quick", {"--target", "latest", "--yes"});
  CHECK(quick.exit_code == 4);
  CHECK_THAT(quick.err, Catch::Contains("service api: image " + images.repo + ":v1 is not on this host") &&
                            Catch::Contains("pull: false"));
  CHECK(containers(s) == before);
  CHECK(s.state() == state);
}

TEST_CASE("quick starts each service on the image ID the backup recorded, though its tag moved since, and the report "
          "names the images before and after",
          "[docker][e2e][images]") {
  Stack s;
  Images images;
  auto v1 = images.commit("v1");
  use_api_image(s, images.repo + ":app");
  REQUIRE(docker_rc({"tag", v1, images.repo + ":app"}) == 0);
  s.up_and_seed();
  REQUIRE(api_image(s) == v1);
  REQUIRE(s.rollback("backup").exit_code == 0);
  auto v2 = images.commit("app");  // the same tag, moved to new code
  s.compose({"up", "-d"});
  REQUIRE(api_image(s) == v2);
  s.break_it();

  auto quick = s.rollback("quick", {"--target", "latest", "--yes"});
  REQUIRE(quick.exit_code == 0);
  CHECK(api_image(s) == v1);  // pinned by ID: the moved tag could not start v2 on v1's data
  CHECK(fs::exists(s.stack / ".rollback-pins.yml"));
  auto report = testing::read_text(testing::report_path_of(quick.out));
  auto short_id = [](const std::string& id) { return id.substr(7, 12); };
  auto from = report.substr(report.find("Versión Rollback"), 300);
  CHECK_THAT(from, Catch::Contains("api " + images.repo + ":app (" + short_id(v2) + ")"));
  auto to = report.substr(report.find("Versión Restaurada"), 300);
  CHECK_THAT(to, Catch::Contains("(" + short_id(v1) + ")"));
}
