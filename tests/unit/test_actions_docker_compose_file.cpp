// Which services docker.compose reads from a compose file itself, and when it leaves the
// answer to `config --services` instead.
#include <catch2/catch.hpp>

#include <rollback/actions/docker_compose_file.hpp>

#include "support/temp_dir.hpp"

using namespace rollback;
using nlohmann::json;

namespace {

std::optional<std::vector<std::string>> services_of(const testing::TempDir& dir,
                                                    json params = json::object()) {
  params["dir"] = dir.path().string();
  return actions::docker::plain_compose_services(actions::Params(std::move(params)));
}

}  // namespace

TEST_CASE("a plain compose file names its services in file order", "[docker][compose-file]") {
  testing::TempDir dir;
  testing::write_text(dir / "docker-compose.yml",
                      "version: '2.4'\nservices:\n  api:\n    image: x\n  store:\n    image: x\n   "
                      " deploy: {resources: {}}\n"
                      "volumes: {data: {}}\n");
  CHECK(services_of(dir) == std::vector<std::string>{"api", "store"});
}

TEST_CASE("an explicit file is read even when an override file sits next to it",
          "[docker][compose-file]") {
  testing::TempDir dir;
  testing::write_text(dir / "stack.yml", "services:\n  web:\n    image: x\n");
  testing::write_text(dir / "docker-compose.override.yml", "services:\n  extra:\n    image: x\n");
  CHECK(services_of(dir, {{"file", "stack.yml"}}) == std::vector<std::string>{"web"});
}

TEST_CASE("anything that can change the answer leaves it to compose", "[docker][compose-file]") {
  testing::TempDir dir;
  auto with = [&](const std::string& text) {
    testing::write_text(dir / "compose.yaml", text);
    return services_of(dir);
  };
  CHECK_FALSE(with("services:\n  a:\n    image: x\n    profiles: [debug]\n"));
  CHECK_FALSE(with("services:\n  a:\n    extends: {file: base.yml, service: a}\n"));
  CHECK_FALSE(with("services:\n  a:\n    image: x\n    scale: 0\n"));
  CHECK_FALSE(with("services:\n  a:\n    image: x\n    deploy: {replicas: 0}\n"));
  CHECK_FALSE(with("x-base: &base {image: x}\nservices:\n  a:\n    <<: *base\n"));
  CHECK_FALSE(with("include: [other.yml]\nservices:\n  a:\n    image: x\n"));
  CHECK_FALSE(with("services: {}\n"));
  CHECK_FALSE(with("services: [a\n"));  // compose will say what is wrong with it
  CHECK(with("services:\n  a:\n    image: x\n") == std::vector<std::string>{"a"});
  testing::write_text(dir / "compose.override.yaml", "services:\n  b:\n    image: x\n");
  CHECK_FALSE(services_of(dir));
}
