// docker.stack.record: what each service of a stack runs right now, written atomically to a
// JSON file (format swarm::kRecordFormat) that docker.stack.deploy's `pin_from` reads back:
// the spec, the image reference, the image ID the running container was created from (a tag
// may be moved later; the ID and digest cannot), and the registry digest when one is known.
#include "docker_swarm_cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include <rollback/util/fs.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker::swarm {
namespace {

struct LocalImage {
  std::string id;
  std::vector<std::string> repo_digests;
};

std::optional<LocalImage> local_image(ActionContext& ctx, const Params& p, const std::string& ref) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(),
              {"image", "inspect", "--format", "{{.Id}} {{json .RepoDigests}}", "--", ref});
  auto done = run(ctx, p, argv, quiet());
  if (!done || !done->succeeded()) return std::nullopt;
  auto text = trim(done->out);
  auto space = text.find(' ');
  LocalImage image{.id = text.substr(0, space), .repo_digests = {}};
  auto digests = nlohmann::json::parse(space == std::string::npos ? "[]" : text.substr(space + 1),
                                       nullptr, false);
  if (digests.is_array())
    for (const auto& d : digests)
      if (d.is_string()) image.repo_digests.push_back(d.get<std::string>());
  return image;
}

nlohmann::json record_service(ActionContext& ctx, const Params& p, const ServiceState& s,
                              const Snapshot& snapshot, const SwarmInfo& info) {
  auto digest = digest_reference(s.image);
  auto id = running_image_id(ctx, p, s, snapshot, info.node_id);
  auto local = local_image(ctx, p, id.empty() ? s.image : id);
  if (id.empty() && local) id = local->id;
  if (digest.empty() && local && local->id == id) {
    // A digest of the same repository names the same content on every node.
    auto repo = repository_of(s.image);
    auto same = std::find_if(local->repo_digests.begin(), local->repo_digests.end(),
                             [&](const std::string& d) { return repository_of(d) == repo; });
    if (same != local->repo_digests.end()) digest = *same;
  }
  return {{"name", s.name}, {"image", s.image},       {"image_id", id}, {"digest", digest},
          {"mode", s.mode}, {"replicas", s.replicas}, {"spec", s.spec}};
}

Outcome run_record(ActionContext& ctx, const Params& p) {
  auto info = require_manager(ctx, p);
  if (!info) return to_outcome(info.error());
  auto ids = selected_services(ctx, p);
  if (!ids) return to_outcome(ids.error());
  auto snapshot = observe(ctx, p, *ids);
  if (!snapshot) return to_outcome(snapshot.error());
  nlohmann::json services = nlohmann::json::object();
  Outcome outcome = Outcome::success();
  for (const auto& s : snapshot->services) {
    auto entry = record_service(ctx, p, s, *snapshot, *info);
    auto digest = entry["digest"].get<std::string>(), id = entry["image_id"].get<std::string>();
    auto pin = !digest.empty() ? digest
               : !id.empty()   ? id
                               : "nothing: neither digest nor image ID known";
    outcome.observations.push_back({s.short_name, pin, !digest.empty() || !id.empty()});
    services[s.short_name] = std::move(entry);
  }
  nlohmann::json record{{"format", kRecordFormat},
                        {"stack", p.str("stack")},
                        {"recorded_at", format_iso_utc(std::chrono::system_clock::now())},
                        {"nodes", info->nodes},
                        {"services", std::move(services)}};
  std::filesystem::path to = p.str("to");
  std::error_code ec;
  if (to.has_parent_path()) std::filesystem::create_directories(to.parent_path(), ec);
  if (auto written = write_file_atomic(to, record.dump(2) + "\n"); !written)
    return Outcome::failure(
        fmt::format("{}{}: {}", step_prefix(ctx), to.string(), written.error().message));
  outcome.message = fmt::format("recorded {} service(s) of stack {} -> {}",
                                snapshot->services.size(), p.str("stack"), to.string());
  for (const auto& o : outcome.observations)
    if (!o.ok) {
      outcome.warning = true;
      outcome.message += fmt::format("; {} cannot be pinned (no image ID or digest known)", o.name);
    }
  return outcome;
}

}  // namespace

void register_stack_record_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.stack.record",
      .summary = "record each service of a Swarm stack (spec, image ID, digest) to a JSON file for "
                 "pinning",
      .params = with_engine({param("stack").required().names(plan::Names::Identifier)
                     .doc("the Swarm stack whose services are recorded"),
                 param("to").required().names(plan::Names::Path)
                     .doc("the JSON file to write atomically (spec, image, image ID, digest of each service)")}),
      .destructive = false,
      .read_only = false,  // writes `to`
      .rerun_safe = true,
      .describe =
          [](const Params& p) {
            return fmt::format(
                "docker service inspect (stack {}) + image IDs of its running tasks -> {}",
                p.str("stack"), p.str("to"));
          },
      .preflight =
          [](ActionContext& ctx, const Params& p) {
            auto info = require_manager(ctx, p);
            if (!info) return to_outcome(info.error());
            auto ids = selected_services(ctx, p);
            if (!ids) return to_outcome(ids.error());
            return Outcome::success(
                fmt::format("stack {}: {} service(s)", p.str("stack"), ids->size()));
          },
      .run = run_record,
  });
}

}  // namespace rollback::actions::docker::swarm
