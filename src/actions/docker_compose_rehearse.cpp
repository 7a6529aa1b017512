// How docker.compose rehearses (include/rollback/actions/docker_rehearse.hpp): `up` starts the
// target's compose file as project rbr-<run id>, from the fully resolved `config` output,
// with container_name dropped, named volumes renamed to the rehearsal's copies, published
// ports replaced by free ones (written as a whole file, so nothing is appended the way a
// compose v1 override appends `ports`), every container and network labelled. External
// volumes, external networks, host networking (and the host's or a production container's
// pid or ipc namespace, or volumes_from one) and bind mounts outside the stack dir would be
// shared with production: refused (exit 4 at preflight) unless the step's `rehearse_map`
// says what to do with them (copy or empty; drop for a network).
#include <fmt/format.h>

#include <rollback/actions/docker_compose_file.hpp>
#include <rollback/actions/docker_images.hpp>
#include <rollback/actions/docker_rehearse.hpp>
#include <rollback/util/fs.hpp>

namespace rollback::actions::docker {
namespace {
namespace fs = std::filesystem;

bool truthy_node(const YAML::Node& n) {
  if (!n || n.IsNull()) return false;
  if (n.IsMap()) return true;  // external: {name: ...}
  return n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "yes" || n.Scalar() == "True");
}

// compose v1's project name: lower case, only [-_a-z0-9].
std::string compose_project(const std::string& name) {
  std::string out;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isalnum(u) || u == '-' || u == '_') out.push_back(static_cast<char>(u));
  }
  return out;
}

bool under(const fs::path& path, const fs::path& folder) {
  auto rel = path.lexically_normal().lexically_relative(folder.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

struct Rewrite {
  Rehearsal& r;
  ActionContext& ctx;
  const Params& p;
  std::vector<fs::path> stack_dirs;  // binds under these follow the copy (or are the copy)
  fs::path production_dir;           // the stack dir in production
  fs::path copy_dir;                 // its copy ("" at preflight)
  std::map<std::string, std::string> map;  // rehearse_map
  std::vector<std::string> refused;

  std::string mapping(const std::string& key) const {
    auto it = map.find(key);
    return it == map.end() ? "" : it->second;
  }

  void labels(YAML::Node node) {
    YAML::Node labels = node["labels"];
    if (labels && labels.IsSequence()) {
      for (const auto& label : r.labels()) labels.push_back(label);
      return;
    }
    for (const auto& label : r.labels()) {
      auto eq = label.find('=');
      node["labels"][label.substr(0, eq)] = label.substr(eq + 1);
    }
  }

  // A bind source: inside the stack dir it follows the copy; elsewhere refused unless mapped.
  std::optional<std::string> bind(const std::string& service, const std::string& source) {
    fs::path src(source);
    for (const auto& dir : stack_dirs)
      if (src == dir || under(src, dir)) {
        if (!copy_dir.empty() && (src == production_dir || under(src, production_dir)))
          return (copy_dir / src.lexically_relative(production_dir)).lexically_normal().string();
        return source;
      }
    auto how = mapping(source);
    std::error_code ec;
    if (how == "copy") {
      auto copy = r.mirror(ctx, src, fs::is_directory(src, ec));
      if (!copy) {
        refused.push_back(copy.error().message);
        return std::nullopt;
      }
      return copy->string();
    }
    if (how == "empty") {
      auto empty = r.dir() / "empty" / fs::path(source).relative_path();
      if (r.for_real) fs::create_directories(empty, ec);
      return empty.string();
    }
    refused.push_back(fmt::format("service {} mounts {} from outside the stack dir {}: the rehearsal would share it "
                                  "with production; map it with `rehearse_map: {{{}: copy}}` (or empty)",
                                  service, source, production_dir.string(), source));
    return std::nullopt;
  }

  void volumes_of(const std::string& service, YAML::Node list) {
    if (!list || !list.IsSequence()) return;
    for (size_t i = 0; i < list.size(); ++i) {
      YAML::Node entry = list[i];
      if (entry.IsScalar()) {
        auto text = entry.Scalar();
        auto colon = text.find(':');
        if (colon == std::string::npos || !text.starts_with('/')) continue;  // anonymous or named
        auto mapped = bind(service, text.substr(0, colon));
        if (mapped) list[i] = *mapped + text.substr(colon);
      } else if (entry.IsMap() && entry["type"] && entry["type"].Scalar() == "bind" && entry["source"]) {
        if (auto mapped = bind(service, entry["source"].Scalar())) entry["source"] = *mapped;
      }
    }
  }

  // Each published port on a free one (the whole list replaced, short syntax).
  YAML::Node ports_of(const std::string& service, const YAML::Node& ports) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& entry : ports) {
      std::string ip, published, target, protocol;
      if (entry.IsMap()) {
        if (entry["published"]) published = entry["published"].Scalar();
        if (entry["target"]) target = entry["target"].Scalar();
        if (entry["protocol"]) protocol = entry["protocol"].Scalar();
        if (entry["host_ip"]) ip = entry["host_ip"].Scalar();
      } else {
        std::string text = entry.Scalar();
        if (auto slash = text.find('/'); slash != std::string::npos) {
          protocol = text.substr(slash + 1);
          text = text.substr(0, slash);
        }
        auto last = text.rfind(':');
        target = last == std::string::npos ? text : text.substr(last + 1);
        if (last != std::string::npos) {
          auto head = text.substr(0, last);
          auto first = head.rfind(':');
          published = first == std::string::npos ? head : head.substr(first + 1);
          if (first != std::string::npos) ip = head.substr(0, first);
        }
      }
      if (published.find('-') != std::string::npos || target.find('-') != std::string::npos) {
        refused.push_back(fmt::format("service {} publishes a port range ({}): a rehearsal moves single ports only",
                                      service, published));
        continue;
      }
      std::string moved = published.empty() ? "" : "0";
      if (!published.empty() && r.for_real) {
        auto port = free_port(ip);
        if (!port) {
          refused.push_back(port.error().message);
          continue;
        }
        try {
          r.moved_port(std::stoi(published), *port);
        } catch (...) {
          refused.push_back(fmt::format("service {}: published port '{}' is not a number", service, published));
          continue;
        }
        moved = std::to_string(*port);
      }
      std::string text = target;
      if (!moved.empty()) text = (ip.empty() ? "" : ip + ":") + moved + ":" + target;
      if (!protocol.empty() && protocol != "tcp") text += "/" + protocol;
      out.push_back(text);
    }
    return out;
  }

  void services(YAML::Node config) {
    YAML::Node services = config["services"];
    if (!services || !services.IsMap()) return;
    for (auto it = services.begin(); it != services.end(); ++it) {
      std::string name = it->first.Scalar();
      YAML::Node s = it->second;
      s.remove("container_name");
      for (auto& why : shared_with_production(name, s)) refused.push_back(std::move(why));
      if (s["ports"]) s["ports"] = ports_of(name, s["ports"]);
      volumes_of(name, s["volumes"]);
      labels(s);
    }
  }

  std::string users_of_volume(const YAML::Node& config, const std::string& key) {
    std::string users;
    for (const auto& s : config["services"]) {
      bool uses = false;
      for (const auto& v : s.second["volumes"]) {
        auto source = v.IsScalar() ? v.Scalar().substr(0, v.Scalar().find(':')) : (v["source"] ? v["source"].Scalar() : "");
        uses = uses || source == key;
      }
      if (uses) users += (users.empty() ? "" : ", ") + s.first.Scalar();
    }
    return users.empty() ? "(no service)" : users;
  }

  void volumes(YAML::Node config, const std::string& project) {
    YAML::Node volumes = config["volumes"];
    if (!volumes || !volumes.IsMap()) return;
    YAML::Node out(YAML::NodeType::Map);
    for (auto it = volumes.begin(); it != volumes.end(); ++it) {
      std::string key = it->first.Scalar();
      YAML::Node v = it->second;
      bool external = v && v.IsMap() && truthy_node(v["external"]);
      std::string name = v && v.IsMap() && v["name"] ? v["name"].Scalar()
                         : external && v["external"].IsMap() && v["external"]["name"] ? v["external"]["name"].Scalar()
                         : external ? key
                                    : compose_project(project) + "_" + key;
      bool fill = true;
      if (external) {
        auto how = mapping(name).empty() ? mapping(key) : mapping(name);
        if (how != "copy" && how != "empty") {
          refused.push_back(fmt::format("service {} uses external volume {}: the rehearsal would share it with "
                                        "production; map it with `rehearse_map: {{{}: copy}}` (or empty)",
                                        users_of_volume(config, key), name, name));
          continue;
        }
        fill = how == "copy";
      }
      auto copy = rehearsal_volume(r, ctx, p, name, fill);
      if (!copy) {
        refused.push_back(copy.error().message);
        continue;
      }
      YAML::Node mapped;
      mapped["name"] = *copy;
      mapped["external"] = true;
      out[key] = mapped;
    }
    config["volumes"] = out;
  }

  void networks(YAML::Node config) {
    YAML::Node networks = config["networks"];
    YAML::Node out(YAML::NodeType::Map);
    std::set<std::string> dropped;
    if (networks && networks.IsMap())
      for (auto it = networks.begin(); it != networks.end(); ++it) {
        std::string key = it->first.Scalar();
        YAML::Node n = it->second ? YAML::Clone(it->second) : YAML::Node(YAML::NodeType::Map);
        if (n.IsNull()) n = YAML::Node(YAML::NodeType::Map);
        if (truthy_node(n["external"])) {
          std::string name = n["name"] ? n["name"].Scalar() : key;
          if (mapping(name) == "drop" || mapping(key) == "drop") {
            dropped.insert(key);
            continue;
          }
          refused.push_back(fmt::format("network {} is external: rehearsal containers on it would answer for "
                                        "production's; map it with `rehearse_map: {{{}: drop}}`",
                                        name, name));
          continue;
        }
        n.remove("name");  // a fixed name would be production's network
        labels(n);
        out[key] = n;
      }
    if (!out["default"]) {
      YAML::Node d(YAML::NodeType::Map);
      labels(d);
      out["default"] = d;
    }
    config["networks"] = out;
    if (dropped.empty()) return;
    for (auto s : config["services"]) {
      YAML::Node list = s.second["networks"];
      if (!list) continue;
      if (list.IsMap())
        for (const auto& key : dropped) list.remove(key);
      if (list.IsSequence()) {
        YAML::Node kept(YAML::NodeType::Sequence);
        for (const auto& n : list)
          if (!dropped.contains(n.Scalar())) kept.push_back(n);
        s.second["networks"] = kept;
      }
    }
  }
};

// Writes `node` keeping what compose's `config` quoted quoted (version: '2.4', an
// environment value '0123'): yaml-cpp marks such scalars with the tag "!".
void emit(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        emit(out, kv.first);
        out << YAML::Value;
        emit(out, kv.second);
      }
      out << YAML::EndMap;
      break;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const auto& item : node) emit(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") out << YAML::DoubleQuoted;
      out << node.Scalar();
      break;
    default:
      out << YAML::Null;
  }
}

Result<Rehearsed> rehearse_up(Rehearsal& r, ActionContext& ctx, const Params& p) {
  auto production_file = compose_file_of(p);
  if (!production_file) return fail(step_prefix(ctx) + "no compose file to rehearse");
  fs::path production_dir = p.has("dir") ? fs::path(p.str("dir")) : production_file->parent_path();
  std::string project = p.has("project") ? p.str("project") : production_dir.filename().string();
  Rewrite rewrite{r, ctx, p, {production_dir}, production_dir, {}, p.map("rehearse_map"), {}};
  auto params = p.all();
  params["project"] = rehearsal_project(r);
  for (const char* key : {"env_file", "pin", "images_from", "images_env_file", "rehearse_map"}) params.erase(key);

  std::vector<std::string> files;
  std::string env;
  fs::path cwd;
  if (!r.for_real) {
    // Preflight: the file `up` will use is the one an earlier step copies over production's
    // (fs.copy of the target's), else the target's (images_from) when the plan says so; what
    // would be refused is known from it before anything is made.
    auto own_env = p.has("env_file") ? std::optional(in_dir(p, p.str("env_file"))) : std::nullopt;
    if (auto planned = r.planned_copy(*production_file)) {
      files = {planned->string()};
      if (own_env) env = r.planned_copy(*own_env).value_or(*own_env).string();
    } else {
      files = {p.has("images_from") ? p.str("images_from") : production_file->string()};
      env = p.has("images_from") ? p.str("images_env_file") : (own_env ? own_env->string() : "");
    }
    rewrite.stack_dirs.push_back(fs::path(files[0]).parent_path());
  } else {
    auto copy = r.mirror(ctx, production_dir, true);
    if (!copy) return std::unexpected(copy.error());
    rewrite.copy_dir = *copy;
    rewrite.stack_dirs.push_back(*copy);
    auto file = *copy / production_file->lexically_relative(production_dir);
    files = {file.string()};
    if (p.has("env_file")) {
      auto production_env = in_dir(p, p.str("env_file"));
      env = r.mirrored(production_env).value_or(production_env).string();
    }
    if (p.has("pin")) {
      auto pin_params = p.all();
      pin_params["dir"] = copy->string();
      pin_params["file"] = file.string();
      if (!env.empty()) pin_params["env_file"] = env;
      auto pins = write_pins(ctx, Params(pin_params));
      if (!pins) return std::unexpected(pins.error());
      if (*pins) files.push_back((*pins)->string());
    }
    cwd = *copy;
  }
  auto config_params = p.all();
  if (!cwd.empty()) config_params["dir"] = cwd.string();
  auto config = resolved_config(ctx, Params(config_params), files, env, project);
  if (!config) return std::unexpected(config.error());
  YAML::Node rehearsal = *config;
  rewrite.services(rehearsal);
  rewrite.volumes(rehearsal, project);
  rewrite.networks(rehearsal);
  if (!rewrite.refused.empty()) {
    std::string all;
    for (const auto& why : rewrite.refused) all += (all.empty() ? "" : "; ") + why;
    return fail(fmt::format("{}cannot rehearse: {}", step_prefix(ctx), all));
  }
  if (!r.for_real) return Rehearsed::run(Params(p.all()), "would start as project " + rehearsal_project(r));
  YAML::Emitter out;
  emit(out, rehearsal);
  auto file = rewrite.copy_dir / ".rollback-rehearsal.yml";
  auto text = fmt::format("# Written by rollback rehearse {}: the target's compose file, resolved, on throwaway "
                          "copies.\n{}\n", r.run_id(), out.c_str());
  if (auto written = write_file_atomic(file, text); !written) return std::unexpected(written.error());
  started_project(r, project);
  params["dir"] = rewrite.copy_dir.string();
  params["file"] = file.string();
  return Rehearsed::run(Params(params), fmt::format("project {} from {}", rehearsal_project(r), file.string()));
}

}  // namespace

Result<Rehearsed> rehearse_compose(Rehearsal& r, ActionContext& ctx, const Params& p) {
  auto command = p.str("command", "ps");
  if (command == "up") return rehearse_up(r, ctx, p);
  if (command != "ps" && command != "logs")
    return Rehearsed::skip(fmt::format("not rehearsed: `{}` acts on production's containers", command));
  auto project = started(r, p.str("project"));
  if (!project) return Rehearsed::skip(fmt::format("not rehearsed: the rehearsal has not started project {}", p.str("project")));
  auto params = p.all();
  params["project"] = *project;
  auto production_dir = p.has("dir") ? fs::path(p.str("dir")) : fs::path();
  if (auto copy = r.mirrored(production_dir); copy && !production_dir.empty()) {
    params["dir"] = copy->string();
    params["file"] = (*copy / ".rollback-rehearsal.yml").string();
    params.erase("env_file");
  }
  if (p.has("to")) {
    auto to = r.mirror(ctx, p.str("to"), false);
    if (!to) return std::unexpected(to.error());
    params["to"] = to->string();
  }
  return Rehearsed::run(Params(params), "project " + *project);
}

}  // namespace rollback::actions::docker
