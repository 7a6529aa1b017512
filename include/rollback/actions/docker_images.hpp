// The images a compose stack runs, for three jobs (field lesson 5, Kamal's pruned images):
// - `backup` records each service's image ID and digest in the target's manifest.json
//   (docker.images.record), and `targets` says "image gone" when one has left the host;
// - before the first destructive step, `up` proves every image the file it will use names
//   is present (or pullable when the step allows pulling), and with `pin` it starts each
//   service on the image ID the target recorded (a compose override file), so a tag that
//   moved since cannot put new code on old data;
// - `down`/`stop` record what ran before (var from_version) and `up` what runs after
//   (to_version), for the report's "rolled back from" / "restored to".
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <rollback/actions/docker_common.hpp>

namespace rollback::actions::docker {

struct ServiceImage {
  std::string service;
  std::string name;    // as the compose file names it ("app:v2"); an ID when pinned
  std::string id;      // sha256:... (the image ID)
  std::string digest;  // "repo@sha256:..." when the image came from a registry, else ""
};

// What each service of `project` runs now (its first container's image), by service name.
Result<std::vector<ServiceImage>> running_images(ActionContext& ctx, const Params& p, const std::string& project);

// The same for the given containers (a container outside compose is named by its name).
Result<std::vector<ServiceImage>> container_images(ActionContext& ctx, const Params& p,
                                                   const std::vector<std::string>& containers);

// "api local/app:v2 (1f2e3d4c5b6a), db postgres:15 (9a8b7c6d5e4f)"; "" for none.
std::string describe_images(const std::vector<ServiceImage>& images);

// The compose files fully resolved (`config`): `files` (relative to the step's `dir`), the
// env file for interpolation ("" = compose's default) and project name ("" = none).
Result<YAML::Node> resolved_config(ActionContext& ctx, const Params& p, const std::vector<std::string>& files,
                                   const std::string& env_file, const std::string& project);

// manifest.json's "images" (none recorded: an empty list); errors name the file.
Result<std::vector<ServiceImage>> recorded_images(const std::filesystem::path& manifest);

// The compose file the step uses: `file` under `dir`, else the default name found there.
std::optional<std::filesystem::path> compose_file_of(const Params& p);

// docker.compose `up` with `pin`: writes the override that starts each recorded service on
// its image ID, beside the compose file; nullopt when the target recorded no images.
Result<std::optional<std::filesystem::path>> write_pins(ActionContext& ctx, const Params& p);

// docker.compose `up`'s preflight: every image of `images_from` (else the step's own file)
// present, or pullable with `pull: true`; pinned services by their recorded ID. Fails naming
// the service and the image.
Status check_up_images(ActionContext& ctx, const Params& p);

// Sets var `from_version` (before `down`/`stop`) or `to_version` (after `up`) to what the
// project (or the given containers) runs; a no-op without either or when nothing runs.
void note_images(ActionContext& ctx, const Params& p, const std::string& var,
                 const std::vector<std::string>& containers = {});

void register_images_action(Registry& registry);  // docker.images.record, the image-gone check

}  // namespace rollback::actions::docker
