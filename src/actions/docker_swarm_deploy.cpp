// docker.stack.deploy: `docker stack deploy` of one or more compose files, with variables
// from an env file, each service optionally pinned to an exact image (`images:` or a record
// written by docker.stack.record), then, with `wait`, until every service has converged.
// `docker stack deploy` returns as soon as Swarm accepted the specs, long before anything
// runs (field lesson 10), so the wait is the real answer.
#include "docker_swarm_cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>

#include <yaml-cpp/yaml.h>

#include <rollback/actions/output.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker::swarm {
namespace {
namespace fs = std::filesystem;

// What the compose files declare: their services and the first file's `version`.
struct StackFiles {
  std::set<std::string> services;
  std::string version;
};

Result<StackFiles> read_stack_files(const ActionContext& ctx, const Params& p) {
  StackFiles out;
  for (const auto& file : p.list("file")) {
    try {
      auto doc = YAML::LoadFile(file);
      if (out.version.empty() && doc["version"] && doc["version"].IsScalar())
        out.version = doc["version"].Scalar();
      if (doc["services"] && doc["services"].IsMap())
        for (const auto& entry : doc["services"]) out.services.insert(entry.first.Scalar());
    } catch (const YAML::Exception& e) {
      return fail(fmt::format("{}compose file {}: {}", step_prefix(ctx), file, e.what()));
    }
  }
  return out;
}

Status check_files(const ActionContext& ctx, const Params& p) {
  std::vector<std::string> paths = p.list("file");
  if (p.has("env_file")) paths.push_back(p.str("env_file"));
  if (p.has("pin_from")) paths.push_back(p.str("pin_from"));
  std::error_code ec;
  for (const auto& path : paths)
    if (!fs::is_regular_file(path, ec))
      return fail(fmt::format("{}{} does not exist (or is not a file)", step_prefix(ctx), path));
  return ok();
}

Result<std::vector<Pin>> load_pins(const ActionContext& ctx, const Params& p) {
  if (p.has("images")) {
    // An empty reference would reach the file as `image: ""` (field lesson 13).
    for (const auto& [service, image] : p.map("images"))
      if (trim(image).empty())
        return fail(fmt::format("{}images: service {} has an empty image reference",
                                step_prefix(ctx), service));
    return pins_from_map(p.map("images"));
  }
  if (!p.has("pin_from")) return std::vector<Pin>{};
  auto text = read_file(p.str("pin_from"));
  if (!text)
    return fail(fmt::format("{}{}: {}", step_prefix(ctx), p.str("pin_from"), text.error().message));
  auto record = nlohmann::json::parse(*text, nullptr, false);
  Result<std::vector<Pin>> pins = fail("not valid JSON");
  if (!record.is_discarded()) pins = pins_from_record(record);
  if (!pins)
    return fail(fmt::format("{}{}: {}", step_prefix(ctx), p.str("pin_from"), pins.error().message));
  return pins;
}

// An image ID names an image only on the node that holds it: on N nodes, a task scheduled
// elsewhere would not find it (or would find nothing by that name).
Status check_pin_scope(const ActionContext& ctx, const std::vector<Pin>& pins, long long nodes) {
  if (nodes <= 1) return ok();
  for (const auto& pin : pins)
    if (pin.by_id)
      return fail(
          fmt::format("{}service {} is pinned by bare image ID {} (no registry digest is known for "
                      "it), but this swarm has {} "
                      "nodes: an image ID exists only on the node that built or loaded it, so a "
                      "task scheduled on another node "
                      "would fail (or run something else). Push the image to a registry the nodes "
                      "can pull from and take a new "
                      "backup (it records the digest then), or pin it by digest with `images:`",
                      step_prefix(ctx), pin.service, pin.image, nodes));
  return ok();
}

// Every pinned image exists: locally, or for a digest on a swarm of several nodes, in its
// registry (`docker manifest inspect`).
Status check_pins_exist(ActionContext& ctx, const Params& p, const std::vector<Pin>& pins,
                        long long nodes) {
  for (const auto& pin : pins) {
    auto present = image_present(ctx, p, pin.image);
    if (!present) return std::unexpected(present.error());
    if (*present) continue;
    if (!pin.by_id && nodes > 1) {
      auto argv = docker_argv(p);
      argv.insert(argv.end(), {"manifest", "inspect", "--", pin.image});
      if (auto done = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
          done && done->succeeded())
        continue;
    }
    return fail(fmt::format(
        "{}service {}: image {} is not present{} (removed since the backup?); nothing was "
        "changed. `docker load` it, or choose another target",
        step_prefix(ctx), pin.service, pin.image,
        nodes > 1 && !pin.by_id ? " locally nor in its registry" : " on this node"));
  }
  return ok();
}

// The pinned services the files declare; the others are reported, not deployed as new ones.
std::vector<Pin> applicable(const std::vector<Pin>& pins, const StackFiles& files,
                            std::vector<std::string>& unused) {
  std::vector<Pin> out;
  for (const auto& pin : pins) {
    if (files.services.contains(pin.service))
      out.push_back(pin);
    else
      unused.push_back(pin.service);
  }
  return out;
}

std::vector<std::string> deploy_argv(const Params& p, const std::vector<std::string>& extra_files,
                                     bool pinned) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"stack", "deploy"});
  for (const auto& f : p.list("file")) argv.insert(argv.end(), {"-c", f});
  for (const auto& f : extra_files) argv.insert(argv.end(), {"-c", f});
  if (p.flag("prune")) argv.push_back("--prune");
  if (p.flag("with_registry_auth")) argv.push_back("--with-registry-auth");
  // A pinned reference is already exact: asking a registry to resolve it again can only fail.
  auto resolve = p.str("resolve_image", pinned ? "never" : "");
  if (!resolve.empty()) argv.insert(argv.end(), {"--resolve-image", resolve});
  argv.insert(argv.end(), {"--", p.str("stack")});
  return argv;
}

// The override file lives only as long as the deploy command.
struct TempFile {
  fs::path path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  }
};

Result<fs::path> write_pins(TempFile& file, const std::vector<Pin>& pins,
                            const std::string& version) {
  std::random_device rd;
  file.path = fs::temp_directory_path() /
              fmt::format("rollback-pins-{}-{}.yml", ::getpid(), rd() % 1000000);
  if (auto written = write_file_atomic(file.path, pins_override(pins, version)); !written)
    return std::unexpected(written.error());
  return file.path;
}

std::string pins_words(const std::vector<Pin>& pins) {
  std::string text;
  for (const auto& pin : pins)
    text += fmt::format("{}{}={}", text.empty() ? "" : ", ", pin.service, pin.image);
  return text;
}

// What runs before the deploy, for the report's "rolled back from": each service's image,
// and the ID its running container has when the reference is a tag (tags move).
void note_running(ActionContext& ctx, const Params& p, const SwarmInfo& info) {
  if (!ctx.set_var) return;
  auto ids = stack_services(ctx, p, p.str("stack"));
  if (!ids || ids->empty()) return;
  auto snapshot = observe(ctx, p, *ids);
  if (!snapshot) return;
  std::string text;
  for (const auto& s : snapshot->services) {
    auto id = running_image_id(ctx, p, s, *snapshot, info.node_id);
    bool tells_more = id.starts_with("sha256:") && id != s.image;
    text += fmt::format("{}{}={}{}", text.empty() ? "" : ", ", s.short_name, s.image,
                        tells_more ? " (" + id.substr(7, 12) + ")" : "");
  }
  ctx.set_var("from_version", text);
}

Outcome run_deploy(ActionContext& ctx, const Params& p) {
  if (auto files = check_files(ctx, p); !files) return to_outcome(files.error());
  auto info = require_manager(ctx, p);
  if (!info) return to_outcome(info.error());
  auto pins = load_pins(ctx, p);
  if (!pins) return to_outcome(pins.error());
  if (auto scope = check_pin_scope(ctx, *pins, info->nodes); !scope)
    return to_outcome(scope.error());
  auto files = read_stack_files(ctx, p);
  if (!files) return to_outcome(files.error());
  std::map<std::string, std::string> env;
  if (p.has("env_file")) {
    auto text = read_file(p.str("env_file"));
    Result<std::map<std::string, std::string>> parsed =
        std::unexpected(text ? Error{} : text.error());
    if (text) parsed = parse_env_file(*text);
    if (!parsed)
      return Outcome::failure(fmt::format("{}env file {}: {}", step_prefix(ctx), p.str("env_file"),
                                          parsed.error().message));
    env = std::move(*parsed);
  }
  std::vector<std::string> unused;
  auto used = applicable(*pins, *files, unused);
  TempFile override_file;
  std::vector<std::string> extra;
  if (!used.empty()) {
    auto path = write_pins(override_file, used, files->version);
    if (!path) return to_outcome(path.error());
    extra.push_back(path->string());
    if (ctx.log) ctx.log("pinned: " + pins_words(used));
  }
  note_running(ctx, p, *info);
  auto since = info->clock.now();
  auto done = run_with_env(ctx, p, deploy_argv(p, extra, !pins->empty()), env, Millis(0));
  if (!done) return to_outcome(done.error());
  auto outcome = Outcome::success(fmt::format("stack {} deployed", p.str("stack")));
  if (!used.empty()) outcome.message += "; pinned " + pins_words(used);
  if (!unused.empty())
    outcome.message += fmt::format("; {} recorded service(s) not in the file: {}", unused.size(),
                                   fmt::join(unused, ", "));
  outcome.log_excerpt = output_excerpt(*done, 20);
  if (wait_budget(ctx, p) <= Millis(0)) return outcome;
  auto ids = stack_services(ctx, p, p.str("stack"));
  if (!ids) return to_outcome(ids.error());
  return wait_converged(ctx, p, *ids, Goal::Deploy, info->clock, since, std::move(outcome));
}

Outcome preflight_deploy(ActionContext& ctx, const Params& p) {
  if (auto files = check_files(ctx, p); !files) return to_outcome(files.error());
  auto info = require_manager(ctx, p);
  if (!info) return to_outcome(info.error());
  auto pins = load_pins(ctx, p);
  if (!pins) return to_outcome(pins.error());
  if (auto scope = check_pin_scope(ctx, *pins, info->nodes); !scope)
    return to_outcome(scope.error());
  if (auto exist = check_pins_exist(ctx, p, *pins, info->nodes); !exist)
    return to_outcome(exist.error());
  if (auto files = read_stack_files(ctx, p); !files) return to_outcome(files.error());
  return Outcome::success(
      fmt::format("swarm manager answering ({} node(s)), files present{}", info->nodes,
                  pins->empty() ? "" : fmt::format(", {} pinned image(s) present", pins->size())));
}

void validate_deploy(ParamCheck& check) {
  if (check.has("images") && check.has("pin_from"))
    check.error(
        "images",
        "use `images` (service -> image) or `pin_from` (a docker.stack.record file), not both");
  validate_wait(check);
}

std::string describe_deploy(const Params& p) {
  std::vector<std::string> extra;
  if (p.has("images") || p.has("pin_from")) extra.push_back("<pins>");
  auto text = proc::display_command(deploy_argv(p, extra, !extra.empty()));
  if (p.has("env_file")) text += "  (variables from " + p.str("env_file") + ")";
  if (p.has("pin_from"))
    text += "; <pins>: each service at the image recorded in " + p.str("pin_from");
  if (p.has("images")) text += "; <pins>: " + pins_words(pins_from_map(p.map("images")));
  if (p.has("wait") && p.str("wait") != "false")
    text += fmt::format("; wait until every service converged ({})", p.str("wait"));
  return text;
}

}  // namespace

void register_stack_deploy_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.stack.deploy",
      .summary = "deploy a stack to Docker Swarm (optionally pinned to recorded images) and wait "
                 "until it converged",
      .params = with_engine(with_wait({param("file", ParamType::StringList).required().names(plan::Names::Path)
                     .doc("the compose file(s) to deploy, in order (docker stack deploy -c FILE...)"),
                 param("stack").required().names(plan::Names::Identifier).doc("the name of the stack to deploy"),
                 param("env_file").names(plan::Names::Path)
                     .doc("an env file whose KEY=VALUE lines are set in docker's environment for stack deploy"),
                 param("prune", ParamType::Bool)
                     .doc("remove services the files no longer declare (--prune; default false)"),
                 param("with_registry_auth", ParamType::Bool)
                     .doc("send registry credentials to the swarm agents (--with-registry-auth; default false)"),
                 param("resolve_image").choices({"always", "changed", "never"})
                     .doc("--resolve-image (default: never when pinned, else docker's own default)"),
                 param("images", ParamType::StringMap)
                     .doc("pins: compose service -> image reference to run (instead of pin_from)"),
                 param("pin_from").names(plan::Names::Path)
                     .doc("pins: a docker.stack.record file; each service on its recorded digest, else image ID")},
                                               "wait until every service converged")),
      .destructive = true,
      .read_only = false,
      .rerun_safe = true,  // deploying the same files again converges to the same specs
      .validate = validate_deploy,
      .describe = describe_deploy,
      .preflight = preflight_deploy,
      .run = run_deploy,
  });
}

}  // namespace rollback::actions::docker::swarm
