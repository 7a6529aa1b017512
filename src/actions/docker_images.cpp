// Images of a compose stack (include/rollback/actions/docker_images.hpp).
#include <rollback/actions/docker_images.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>

#include <rollback/actions/docker_compose_file.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

std::string short_id(const std::string& id) {
  auto hex = id.starts_with("sha256:") ? id.substr(7) : id;
  return hex.substr(0, 12);
}

struct ImageFacts {
  std::string id;
  std::string digest;
  std::string tag;  // the first RepoTag, for an image named by its ID
};

// `docker image inspect` of each reference; a reference that is not on the host is absent.
Result<std::map<std::string, ImageFacts>> inspect_images(ActionContext& ctx, const Params& p,
                                                         const std::vector<std::string>& refs) {
  std::map<std::string, ImageFacts> facts;
  for (const auto& ref : refs) {
    if (ref.empty() || facts.contains(ref)) continue;
    auto argv = docker_argv(p);
    argv.insert(argv.end(), {"image", "inspect", "--format", "{{.Id}}|{{json .RepoDigests}}|{{json .RepoTags}}", "--", ref});
    auto done = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false, .log_command = false});
    if (!done) return std::unexpected(done.error());
    if (!done->succeeded()) {
      if (done->err.find("No such image") != std::string::npos || done->err.find("No such object") != std::string::npos)
        continue;
      return std::unexpected(explain(ctx, p, "docker image inspect " + ref, done));
    }
    auto line = output_lines(done->out);
    if (line.empty()) continue;
    auto first = line[0].find('|'), second = line[0].find('|', first + 1);
    ImageFacts f;
    f.id = line[0].substr(0, first);
    auto digests = nlohmann::json::parse(line[0].substr(first + 1, second - first - 1), nullptr, false);
    auto tags = nlohmann::json::parse(line[0].substr(second + 1), nullptr, false);
    if (digests.is_array() && !digests.empty()) f.digest = digests[0].get<std::string>();
    if (tags.is_array() && !tags.empty()) f.tag = tags[0].get<std::string>();
    facts[ref] = std::move(f);
  }
  return facts;
}

// Whether `ref` could be pulled: the registry answers for its manifest (no layers fetched).
Status pullable(ActionContext& ctx, const Params& p, const std::string& ref) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"manifest", "inspect", "--", ref});
  auto done = run(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (done && done->succeeded()) return ok();
  return fail(done ? last_error_line(*done) : done.error().message);
}

std::map<std::string, std::string> images_of(const YAML::Node& config) {
  std::map<std::string, std::string> out;
  const YAML::Node services = config["services"];
  if (!services || !services.IsMap()) return out;
  for (const auto& s : services) {
    const YAML::Node image = s.second["image"];
    out[s.first.Scalar()] = image && image.IsScalar() ? image.Scalar() : "";
  }
  return out;
}

}  // namespace

Result<std::vector<ServiceImage>> running_images(ActionContext& ctx, const Params& p, const std::string& project) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"ps", "-aq", "--no-trunc", "--filter", "label=com.docker.compose.project=" + project});
  auto ids = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!ids) return std::unexpected(ids.error());
  return container_images(ctx, p, output_lines(ids->out));
}

Result<std::vector<ServiceImage>> container_images(ActionContext& ctx, const Params& p,
                                                   const std::vector<std::string>& containers) {
  std::vector<ServiceImage> images;
  if (containers.empty()) return images;
  auto inspect = docker_argv(p);
  inspect.insert(inspect.end(), {"inspect", "--type", "container", "--format",
                                 "{{or (index .Config.Labels \"com.docker.compose.service\") .Name}}|{{.Config.Image}}|{{.Image}}|"
                                 "{{.State.Running}}"});
  inspect.insert(inspect.end(), containers.begin(), containers.end());
  auto seen = run_checked(ctx, p, inspect, {.cap = kShortCommand, .log_output = false});
  if (!seen) return std::unexpected(seen.error());
  std::map<std::string, std::pair<bool, ServiceImage>> by_service;  // running first
  for (const auto& line : output_lines(seen->out)) {
    auto a = line.find('|'), b = line.find('|', a + 1), c = line.find('|', b + 1);
    if (c == std::string::npos) continue;
    ServiceImage s{line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1, c - b - 1), ""};
    if (s.service.starts_with('/')) s.service.erase(0, 1);  // a container's name, not a service
    bool running = line.substr(c + 1) == "true";
    auto it = by_service.find(s.service);
    if (it == by_service.end() || (running && !it->second.first)) by_service[s.service] = {running, s};
  }
  std::vector<std::string> refs;
  for (const auto& [service, entry] : by_service) refs.push_back(entry.second.id);
  auto facts = inspect_images(ctx, p, refs);
  if (!facts) return std::unexpected(facts.error());
  for (auto& [service, entry] : by_service) {
    auto& s = entry.second;
    if (auto f = facts->find(s.id); f != facts->end()) {
      s.digest = f->second.digest;
      if (s.name.starts_with("sha256:") && !f->second.tag.empty()) s.name = f->second.tag;
    }
    images.push_back(std::move(s));
  }
  return images;
}

std::string describe_images(const std::vector<ServiceImage>& images) {
  std::string text;
  for (const auto& i : images)
    text += fmt::format("{}{} {} ({})", text.empty() ? "" : ", ", i.service, i.name, short_id(i.id));
  return text;
}

Result<YAML::Node> resolved_config(ActionContext& ctx, const Params& p, const std::vector<std::string>& files,
                                   const std::string& env_file, const std::string& project) {
  auto argv = compose_argv(ctx, p);
  if (!argv) return std::unexpected(argv.error());
  for (const auto& f : files) argv->insert(argv->end(), {"-f", f});
  if (!project.empty()) argv->insert(argv->end(), {"-p", project});
  if (!env_file.empty()) argv->insert(argv->end(), {"--env-file", env_file});
  argv->push_back("config");
  RunOptions options{.cap = kShortCommand, .log_output = false};
  if (p.has("dir")) options.cwd = fs::path(p.str("dir"));
  auto done = run_checked(ctx, p, *argv, options);
  if (!done) return std::unexpected(done.error());
  try {
    return YAML::Load(done->out);
  } catch (const YAML::Exception& e) {
    return fail(fmt::format("{}compose config printed something that is not YAML: {}", step_prefix(ctx), e.what()));
  }
}

Result<std::vector<ServiceImage>> recorded_images(const fs::path& manifest) {
  std::vector<ServiceImage> out;
  std::error_code ec;
  if (!fs::exists(manifest, ec)) return out;
  auto text = read_file(manifest);
  if (!text) return std::unexpected(text.error());
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return fail(fmt::format("{}: not a JSON object", manifest.string()));
  if (!json.contains("images") || !json["images"].is_object()) return out;
  for (const auto& [service, image] : json["images"].items()) {
    if (!image.is_object()) continue;
    auto text = [&](const char* key) {
      auto it = image.find(key);
      return it != image.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    out.push_back({service, text("image"), text("id"), text("digest")});
  }
  return out;
}

std::optional<fs::path> compose_file_of(const Params& p) {
  if (p.has("file")) return in_dir(p, p.str("file"));
  std::error_code ec;
  fs::path dir = p.has("dir") ? fs::path(p.str("dir")) : fs::current_path(ec);
  for (const char* name : {"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"})
    if (fs::is_regular_file(dir / name, ec)) return dir / name;
  return std::nullopt;
}

Result<std::optional<fs::path>> write_pins(ActionContext& ctx, const Params& p) {
  if (!p.has("pin")) return std::optional<fs::path>{};
  auto recorded = recorded_images(p.str("pin"));
  if (!recorded) return std::unexpected(recorded.error());
  auto file = compose_file_of(p);
  if (recorded->empty() || !file) {
    if (ctx.log) ctx.log(fmt::format("{} records no images: services start on what their tags name now", p.str("pin")));
    return std::optional<fs::path>{};
  }
  // Only services the file defines: compose refuses an override naming another one.
  auto config = resolved_config(ctx, p, {file->string()}, p.str("env_file"), p.str("project"));
  if (!config) return std::unexpected(config.error());
  auto defined = images_of(*config);
  YAML::Emitter out;
  out << YAML::BeginMap;
  YAML::Node base = YAML::LoadFile(file->string());
  if (base["version"]) out << YAML::Key << "version" << YAML::Value << YAML::DoubleQuoted << base["version"].Scalar();
  out << YAML::Key << "services" << YAML::Value << YAML::BeginMap;
  size_t pinned = 0;
  for (const auto& image : *recorded) {
    if (!defined.contains(image.service) || image.id.empty()) continue;
    out << YAML::Key << image.service << YAML::Value << YAML::BeginMap << YAML::Key << "image" << YAML::Value
        << image.id << YAML::EndMap;
    ++pinned;
  }
  out << YAML::EndMap << YAML::EndMap;
  if (pinned == 0) return std::optional<fs::path>{};
  auto pins = file->parent_path() / ".rollback-pins.yml";
  std::string text = fmt::format("# Written by rollback: each service starts on the image ID recorded in {}\n{}\n",
                                 p.str("pin"), out.c_str());
  if (auto written = write_file_atomic(pins, text); !written)
    return fail(fmt::format("{}cannot write {}: {}", step_prefix(ctx), pins.string(), written.error().message));
  if (ctx.log) ctx.log(fmt::format("pinned {} service(s) to the image IDs in {} ({})", pinned, p.str("pin"), pins.string()));
  return std::optional<fs::path>{pins};
}

Status check_up_images(ActionContext& ctx, const Params& p) {
  std::string file = p.has("images_from") ? p.str("images_from") : (compose_file_of(p) ? compose_file_of(p)->string() : "");
  std::string env = p.has("images_from") ? p.str("images_env_file") : p.str("env_file");
  if (file.empty()) return ok();  // check_compose_files says what is missing
  auto config = resolved_config(ctx, p, {file}, env, p.str("project"));
  if (!config) return std::unexpected(config.error());
  std::map<std::string, ServiceImage> pins;
  if (p.has("pin")) {
    auto recorded = recorded_images(p.str("pin"));
    if (!recorded) return std::unexpected(recorded.error());
    for (auto& r : *recorded) pins[r.service] = std::move(r);
  }
  auto wanted = images_of(*config);
  std::vector<std::string> refs;
  for (const auto& [service, image] : wanted) refs.push_back(pins.contains(service) ? pins[service].id : image);
  auto facts = inspect_images(ctx, p, refs);
  if (!facts) return std::unexpected(facts.error());
  std::vector<std::string> problems;
  for (const auto& [service, image] : wanted) {
    if (auto pin = pins.find(service); pin != pins.end() && !pin->second.id.empty()) {
      if (!facts->contains(pin->second.id))
        problems.push_back(fmt::format("service {}: image {} ({}) that the target recorded is gone from this host",
                                       service, pin->second.name, short_id(pin->second.id)));
      continue;
    }
    if (image.empty() || facts->contains(image)) continue;  // built by compose, or present
    if (!p.flag("pull")) {
      problems.push_back(fmt::format("service {}: image {} is not on this host and the step does not allow pulling "
                                     "(pull: false)",
                                     service, image));
    } else if (auto can = pullable(ctx, p, image); !can) {
      problems.push_back(fmt::format("service {}: image {} is not on this host and cannot be pulled ({})", service,
                                     image, can.error().message));
    }
  }
  if (problems.empty()) return ok();
  std::string all;
  for (const auto& problem : problems) all += (all.empty() ? "" : "; ") + problem;
  return fail(fmt::format("{}{} (checked {}); `docker load` or `docker pull` the image, or pick another target", step_prefix(ctx), all, file));
}

void note_images(ActionContext& ctx, const Params& p, const std::string& var,
                 const std::vector<std::string>& containers) {
  if ((!p.has("project") && containers.empty()) || !ctx.set_var) return;
  auto images = containers.empty() ? running_images(ctx, p, p.str("project")) : container_images(ctx, p, containers);
  if (!images || images->empty()) return;
  auto text = describe_images(*images);
  if (ctx.log) ctx.log(fmt::format("{}: {}", var == "from_version" ? "images before" : "images now", text));
  ctx.set_var(var, text);
}

}  // namespace rollback::actions::docker
