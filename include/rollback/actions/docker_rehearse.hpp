// How the docker actions rehearse (actions/rehearsal.hpp): the rehearsal's labelled copies of
// volumes, the compose project it starts (rbr-<run id>) and the ports it moves, the copy kind
// that removes them, and each docker action's `rehearse` behaviour. docker_rehearse.cpp and
// docker_compose_rehearse.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <rollback/actions/rehearsal.hpp>

namespace rollback::actions::docker {

// The labelled copy of volume `production`: empty, or filled from production's content
// (read-only) when `fill` and it exists. Made once; later calls return the same name. The
// fill runs on the image the last volume step named (else the default helper image).
Result<std::string> rehearsal_volume(Rehearsal& r, ActionContext& ctx, const Params& p, const std::string& production,
                                     bool fill);

std::string rehearsal_project(const Rehearsal& r);  // rbr-<run id>
void started_project(Rehearsal& r, const std::string& production_project);
std::optional<std::string> started(const Rehearsal& r, const std::string& production_project);  // once started

// A free TCP port on `host_ip` ("" = all) for a published port that moves.
Result<int> free_port(const std::string& host_ip);

// Kind "volume": the containers, networks and volumes labelled with the rehearsal, removed
// by label (the volumes' records need nothing more); adds "volumes" and "projects" to the
// summary. Registered by register_volume_actions.
CopyKind rehearsal_copies();

// docker.volume.restore / create / remove: on the labelled copy of the volume.
Result<Rehearsed> rehearse_volume(Rehearsal& r, ActionContext& ctx, const Params& p);
// docker.ps, docker.exec: on the project the rehearsal started, never by container name.
Result<Rehearsed> rehearse_by_project(Rehearsal& r, ActionContext& ctx, const Params& p);
// Why a compose service (resolved by `config`) cannot be rehearsed beside production: a
// setting that puts it in the host's or a production container's namespaces or volumes
// (network_mode, pid, ipc: host or container:...; volumes_from: container:...); the copy
// would answer on production's ports, share its memory, see its processes or mount its data.
std::vector<std::string> shared_with_production(const std::string& service,
                                                const YAML::Node& config);

// docker.compose (docker_compose_rehearse.cpp): `up` starts the target's compose file as
// the rehearsal's project; ps and logs look at it; anything else is skipped.
Result<Rehearsed> rehearse_compose(Rehearsal& r, ActionContext& ctx, const Params& p);

}  // namespace rollback::actions::docker
