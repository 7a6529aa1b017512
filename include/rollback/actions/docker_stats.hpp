// docker.stats: memory and CPU of running containers, as `docker stats --no-stream` reports
// them. Read-only; `watch` samples through it and a criterion may probe it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <rollback/util/result.hpp>

namespace rollback::actions::docker {

// One line of `docker stats --no-stream --format '{{json .}}'`.
struct ContainerStats {
  std::string name;
  double memory_percent = 0;
  double cpu_percent = 0;
};

Result<ContainerStats> parse_docker_stats_line(std::string_view line);

struct DockerStats {
  std::vector<ContainerStats> containers;
  std::vector<std::string> problems;  // "line 3: ...": one per line that could not be read
};

// Every non-empty line of the command's output; a bad line is a problem, not a failure,
// so one container in a restart loop ("--") does not blind the watch to the others.
DockerStats parse_docker_stats(std::string_view output);

}  // namespace rollback::actions::docker
