// Where something is in a plan file, and a problem found there: every load error is a
// Diagnostic printed as FILE:LINE:COL: message.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace rollback::plan {

struct Location {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string str() const;  // "plans/full.yaml:12:7"
};

Location location_of(const std::string& file, const YAML::Node& node);

struct Diagnostic {
  Location where;
  std::string message;
  std::string str() const;  // "FILE:LINE:COL: message"
};
using Diagnostics = std::vector<Diagnostic>;

}  // namespace rollback::plan
