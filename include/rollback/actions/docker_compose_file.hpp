// What docker.compose knows of the compose files themselves, without running compose:
// whether they are there (checked before anything runs, with a message that says where it
// looked) and, when the file is plain enough to be sure, which services `up` starts.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <rollback/actions/action.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions::docker {

// `path` under the step's `dir` when it is relative.
std::filesystem::path in_dir(const Params& p, const std::string& path);

// The project dir, the compose file (`file`, else one of the default names) and the
// `env_file` exist; the error names the step and the path.
Status check_compose_files(const ActionContext& ctx, const Params& p);

// The services `up` starts, read from the compose file when compose would read exactly that
// one file (no override file, no COMPOSE_FILE) and no service can change the answer (no
// profiles, extends, scale, replicas, merge keys, include). nullopt: ask compose itself
// (`config --services`), which is a third of a second with docker-compose v1.
std::optional<std::vector<std::string>> plain_compose_services(const Params& p);

}  // namespace rollback::actions::docker
