// The plan's `offsite:` (shared/spec.md, "Plan files"): an rclone remote the dir targets are
// copied to and listed from. The remote's name is checked here when the plan writes it out;
// one that uses ${vars} is checked again once bound (plan/offsite.hpp, check_remote).
#include <fmt/format.h>

#include <rollback/plan/offsite.hpp>

#include "loader_internal.hpp"

namespace rollback::plan::detail {

const std::vector<std::string> kOffsiteKeys = {"remote", "keep", "env"};

namespace {

// `env:` RCLONE_* names only: rclone reads its remotes and options from them, and nothing
// else a plan writes here should reach its environment.
void read_env(Loader& l, const MapView& map, OffsiteSpec& spec) {
  YAML::Node env = map.get("env");
  if (!env.IsDefined() || env.IsNull()) return;
  if (!env.IsMap()) {
    l.r.error(env, fmt::format("offsite.env: expected a map of RCLONE_* variables, got {}", describe(env)));
    return;
  }
  for (const auto& kv : env) {
    auto name = kv.first.Scalar();
    if (!name.starts_with("RCLONE_") || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos)
      l.r.error(kv.first, fmt::format("offsite.env: '{}' is not an rclone variable (RCLONE_ and capitals, digits, "
                                      "'_': RCLONE_CONFIG_S3_ACCESS_KEY_ID)",
                                      name));
    if (!kv.second.IsScalar()) {
      l.r.error(kv.second, fmt::format("offsite.env.{}: expected text, got {}", name, describe(kv.second)));
      continue;
    }
    spec.env.emplace_back(name, kv.second.Scalar());
  }
  check_refs(l, env, "offsite.env", RefPlace::Target);
}

}  // namespace

void read_offsite(Loader& l, const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    l.r.error(node, fmt::format("offsite: expected a map such as {{remote: \"s3:bucket/staging\", keep: 30}}, got {}",
                                describe(node)));
    return;
  }
  const std::string context = "offsite";
  MapView map(l.r, node, kOffsiteKeys, context);
  OffsiteSpec spec;
  spec.where = l.r.where(node);
  if (auto remote = get_text(l.r, map, "remote", context)) {
    spec.remote = *remote;
    if (remote->find("${") == std::string::npos)
      if (auto bad = check_remote(*remote); !bad.empty()) l.r.error(map.get("remote"), "offsite.remote: " + bad);
    check_refs(l, map.get("remote"), "offsite.remote", RefPlace::Target);
  } else if (!map.has_value("remote")) {
    l.r.error(node, "offsite: missing required key 'remote' (an rclone remote such as \"s3:bucket/staging\")");
  }
  read_env(l, map, spec);
  if (auto keep = get_int(l.r, map, "keep", context, 1, "offsite.keep")) {
    spec.keep = static_cast<int>(*keep);
    if (l.plan.kind != Kind::Backup)
      l.r.error(map.find("keep")->key_node,
                fmt::format("offsite.keep: only a plan of kind backup prunes the remote (this plan is kind {}); put "
                            "keep: in the backup plan's offsite section",
                            to_string(l.plan.kind)));
  }
  if (l.plan.target.from != "dir")
    l.r.error(node, fmt::format("offsite: copies and lists dir targets, and this plan's targets are {}",
                                l.plan.target.from.empty() ? "none (it has no target section)"
                                                           : "from: " + l.plan.target.from));
  l.plan.offsite = std::move(spec);
}

}  // namespace rollback::plan::detail
