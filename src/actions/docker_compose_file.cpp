// docker.compose's reading of the compose files (include/rollback/actions/docker_compose_file.hpp).
#include <rollback/actions/docker_compose_file.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include <rollback/actions/docker_common.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

constexpr const char* kComposeNames[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
                                         "docker-compose.yaml"};
constexpr const char* kOverrideNames[] = {"compose.override.yaml", "compose.override.yml",
                                          "docker-compose.override.yml",
                                          "docker-compose.override.yaml"};

fs::path project_dir(const Params& p) {
  std::error_code ec;
  return p.has("dir") ? fs::path(p.str("dir")) : fs::current_path(ec);
}

std::optional<fs::path> default_compose_file(const fs::path& dir) {
  std::error_code ec;
  for (const char* name : kComposeNames)
    if (fs::is_regular_file(dir / name, ec)) return dir / name;
  return std::nullopt;
}

// Keys under a service that can leave it without a container after `up`, or pull in keys
// from elsewhere (`<<` merge keys, `extends`) that this reading would not see.
bool service_is_plain(const YAML::Node& service) {
  if (!service.IsMap()) return false;
  for (const char* key : {"profiles", "extends", "scale", "<<"})
    if (service[key]) return false;
  if (const YAML::Node deploy = service["deploy"];
      deploy && (!deploy.IsMap() || deploy["replicas"]))
    return false;
  return true;
}

}  // namespace

fs::path in_dir(const Params& p, const std::string& path) {
  fs::path candidate(path);
  if (candidate.is_relative() && p.has("dir")) return fs::path(p.str("dir")) / candidate;
  return candidate;
}

Status check_compose_files(const ActionContext& ctx, const Params& p) {
  std::error_code ec;
  if (p.has("dir") && !fs::is_directory(p.str("dir"), ec))
    return fail(fmt::format("{}compose dir {} does not exist", step_prefix(ctx), p.str("dir")));
  if (p.has("file")) {
    auto file = in_dir(p, p.str("file"));
    if (!fs::is_regular_file(file, ec))
      return fail(fmt::format("{}compose file {} does not exist", step_prefix(ctx), file.string()));
  } else if (!default_compose_file(project_dir(p))) {
    return fail(
        fmt::format("{}no compose file in {} (looked for compose.yaml, compose.yml, "
                    "docker-compose.yml, docker-compose.yaml)",
                    step_prefix(ctx), project_dir(p).string()));
  }
  if (p.has("env_file") && !fs::is_regular_file(in_dir(p, p.str("env_file")), ec))
    return fail(fmt::format("{}env file {} does not exist", step_prefix(ctx),
                            in_dir(p, p.str("env_file")).string()));
  return ok();
}

std::optional<std::vector<std::string>> plain_compose_services(const Params& p) {
  std::optional<fs::path> file;
  if (p.has("file")) {
    file = in_dir(p, p.str("file"));  // an explicit -f: compose reads no override file
  } else {
    if (const char* env = std::getenv("COMPOSE_FILE"); env && *env) return std::nullopt;
    auto dir = project_dir(p);
    std::error_code ec;
    for (const char* name : kOverrideNames)
      if (fs::exists(dir / name, ec)) return std::nullopt;
    file = default_compose_file(dir);
  }
  if (!file) return std::nullopt;
  try {
    const YAML::Node root = YAML::LoadFile(file->string());
    if (!root.IsMap() || root["include"]) return std::nullopt;
    const YAML::Node services = root["services"];
    if (!services || !services.IsMap() || services.size() == 0) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& entry : services) {
      if (!entry.first.IsScalar() || !service_is_plain(entry.second)) return std::nullopt;
      names.push_back(entry.first.Scalar());
    }
    return names;
  } catch (const YAML::Exception&) {
    return std::nullopt;  // compose will say what is wrong with it, in its own words
  }
}

}  // namespace rollback::actions::docker
