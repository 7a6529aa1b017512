// docker.images.record (a backup step: which image each service runs, into the target's
// manifest.json) and the target check that says "image gone" when one has left the host.
#include <fmt/format.h>

#include <chrono>
#include <mutex>
#include <set>

#include <rollback/actions/docker_compose_file.hpp>
#include <rollback/actions/docker_images.hpp>
#include <rollback/actions/docker_rehearse.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/fs.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

Outcome run_record(ActionContext& ctx, const Params& p) {
  if (auto files = check_compose_files(ctx, p); !files) return to_outcome(files.error());
  auto running = running_images(ctx, p, p.str("project"));
  if (!running) return to_outcome(running.error());
  // The names the compose file gives (a tag), the IDs what actually runs.
  std::map<std::string, std::string> configured;
  if (auto file = compose_file_of(p))
    if (auto config = resolved_config(ctx, p, {file->string()}, p.str("env_file"), p.str("project")))
      if (const YAML::Node services = (*config)["services"]; services && services.IsMap())
        for (const auto& s : services)
          if (s.second["image"]) configured[s.first.Scalar()] = s.second["image"].Scalar();
  fs::path to = p.str("to");
  nlohmann::json manifest = nlohmann::json::object();
  std::error_code ec;
  if (fs::exists(to, ec)) {
    auto text = read_file(to);
    if (!text) return Outcome::failure(step_prefix(ctx) + text.error().message);
    manifest = nlohmann::json::parse(*text, nullptr, false);
    if (manifest.is_discarded() || !manifest.is_object())
      return Outcome::failure(fmt::format("{}{} exists and is not a JSON object", step_prefix(ctx), to.string()));
  }
  nlohmann::json images = nlohmann::json::object();
  Outcome outcome;
  for (const auto& s : *running) {
    std::string name = configured.contains(s.service) ? configured[s.service] : s.name;
    images[s.service] = {{"image", name}, {"id", s.id}, {"digest", s.digest.empty() ? nlohmann::json() : nlohmann::json(s.digest)}};
    outcome.observations.push_back({s.service, fmt::format("{} ({})", name, s.id.substr(0, 19)), true});
  }
  if (running->empty())
    return Outcome::failure(fmt::format("{}project {} has no containers: nothing to record (is the stack up?)",
                                        step_prefix(ctx), p.str("project")));
  manifest["images"] = images;
  if (to.has_parent_path()) fs::create_directories(to.parent_path(), ec);
  if (auto written = write_file_atomic(to, manifest.dump(2) + "\n"); !written)
    return Outcome::failure(fmt::format("{}cannot write {}: {}", step_prefix(ctx), to.string(), written.error().message));
  outcome.message = fmt::format("{} image(s) recorded in {}: {}", running->size(), to.string(), describe_images(*running));
  outcome.data["images"] = images;
  return outcome;
}

// Image IDs on the host, asked once per few seconds: `targets` checks every target.
std::optional<std::set<std::string>> local_image_ids(std::string& why) {
  static std::mutex mutex;
  static std::optional<std::set<std::string>> cached;
  static std::chrono::steady_clock::time_point when;
  std::lock_guard lock(mutex);
  if (cached && std::chrono::steady_clock::now() - when < std::chrono::seconds(5)) return cached;
  proc::SystemRunner runner;
  proc::Command command;
  command.argv = {"docker", "image", "ls", "-aq", "--no-trunc"};
  command.timeout = kShortCommand;
  auto done = runner.run(command);
  if (!done || !done->succeeded()) {
    why = done ? last_error_line(*done) : done.error().message;
    return std::nullopt;
  }
  std::set<std::string> ids;
  for (const auto& line : output_lines(done->out)) ids.insert(line);
  cached = std::move(ids);
  when = std::chrono::steady_clock::now();
  return cached;
}

std::vector<std::string> images_gone(const plan::TargetSpec&, const plan::Target& target, const plan::Scope&) {
  std::vector<std::string> problems;
  if (target.path.empty()) return problems;
  auto recorded = recorded_images(fs::path(target.path) / "manifest.json");
  if (!recorded || recorded->empty()) return problems;  // a bad manifest is the plan's check
  std::string why;
  auto ids = local_image_ids(why);
  if (!ids) return {fmt::format("cannot check the images it recorded: {}", why)};
  for (const auto& image : *recorded)
    if (!image.id.empty() && !ids->contains(image.id))
      problems.push_back(fmt::format("image gone: service {} ({}, {})", image.service, image.name, image.id.substr(0, 19)));
  return problems;
}

}  // namespace

void register_images_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.images.record",
      .summary = "record each service's image (name, ID, digest) in a backup's manifest.json",
      .params = with_engine({param("dir").names(plan::Names::Path)
                     .doc("the stack folder: file and env_file are resolved in it (default: cwd)"),
                 param("project").required().names(plan::Names::Identifier)
                     .doc("the compose project whose containers' images are recorded"),
                 param("file").names(plan::Names::Path)
                     .doc("the compose file that names each service's image (default: compose.yaml etc. in dir)"),
                 param("env_file").names(plan::Names::Path)
                     .doc("an env file for the compose file's variables, relative to dir"),
                 param("to").required().names(plan::Names::Path)
                     .doc("the manifest JSON to write `images` into, other keys kept (a backup's manifest.json)")}),
      .destructive = false,
      .rerun_safe = true,
      .describe =
          [](const Params& p) {
            return fmt::format("record the image ID and digest of each service of project {} in {}", p.str("project"),
                               p.str("to"));
          },
      .preflight =
          [](ActionContext& ctx, const Params& p) {
            if (auto files = check_compose_files(ctx, p); !files) return to_outcome(files.error());
            if (auto daemon = check_daemon(ctx, p); !daemon) return to_outcome(daemon.error());
            return Outcome::success("compose file present, daemon answering");
          },
      .run = run_record,
      .rehearse = not_rehearsed("not rehearsed: it records production's images for a backup"),
  });
  registry.add_target_check(images_gone);
}

}  // namespace rollback::actions::docker
