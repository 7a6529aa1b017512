// How the docker actions rehearse (include/rollback/actions/docker_rehearse.hpp): labelled
// copies of volumes, the project and ports a rehearsal moves, and their removal by label.
#include <rollback/actions/docker_rehearse.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker {
namespace {

constexpr Millis kSweepTime{60'000};
constexpr const char* kRehearsalVolumes = "volume";     // Rehearsal::map: production volume -> copy
constexpr const char* kRehearsalProjects = "project";   // production project -> rbr-<run id>
constexpr const char* kRehearsalHelperImage = "docker helper image";  // "" -> the last volume step's image

Result<proc::Completed> run_sweep(proc::Runner& runner, std::vector<std::string> argv) {
  proc::Command command;
  command.argv = std::move(argv);
  command.timeout = kSweepTime;
  command.survives_cancel = true;
  return runner.run(command);
}

// Every container, network and volume of ctx.run_id ("" = of any rehearsal of the state
// dir), in that order (a volume in use cannot go).
void sweep_labelled(CleanupContext& ctx) {
  std::vector<std::string> filters{fmt::format("label={}", kRehearsalLabel),
                                   fmt::format("label={}={}", kRehearsalStateLabel, ctx.state_dir)};
  if (!ctx.run_id.empty()) filters[0] = fmt::format("label={}={}", kRehearsalLabel, ctx.run_id);
  struct Kind {
    std::vector<std::string> list, remove;
    const char* what;
  };
  const Kind kinds[] = {{{"docker", "ps", "-aq"}, {"docker", "rm", "-f", "--"}, "container"},
                        {{"docker", "network", "ls", "-q"}, {"docker", "network", "rm", "--"}, "network"},
                        {{"docker", "volume", "ls", "-q"}, {"docker", "volume", "rm", "-f", "--"}, "volume"}};
  for (const auto& kind : kinds) {
    auto argv = kind.list;
    for (const auto& f : filters) argv.insert(argv.end(), {"--filter", f});
    auto found = run_sweep(ctx.runner, argv);
    if (!found || !found->succeeded()) return;  // no engine: nothing of ours runs in it
    auto ids = nonempty_lines(found->out);
    if (ids.empty()) continue;
    auto remove = kind.remove;
    remove.insert(remove.end(), ids.begin(), ids.end());
    if (ctx.log) ctx.log(fmt::format("removing {} rehearsal {}(s)", ids.size(), kind.what));
    auto done = run_sweep(ctx.runner, remove);
    if (ctx.log && done && !done->succeeded()) ctx.log("could not remove every one: " + last_error_line(*done));
  }
}

}  // namespace

Result<std::string> rehearsal_volume(Rehearsal& r, ActionContext& ctx, const Params& p, const std::string& production,
                                     bool fill) {
  if (auto copy = r.mapped(kRehearsalVolumes, production)) return *copy;
  std::string name = rehearsal_name(fmt::format("rbr-{}-{}", r.run_id(), production));
  if (!r.for_real) return name;
  r.record({{"kind", kRehearsalVolumes}, {"name", name}});
  auto create = docker_argv(p);
  create.insert(create.end(), {"volume", "create"});
  for (const auto& label : r.labels()) create.insert(create.end(), {"--label", label});
  create.push_back(name);
  if (auto made = run_checked(ctx, p, create, {.cap = kShortCommand}); !made) return std::unexpected(made.error());
  r.map(kRehearsalVolumes, production, name);
  if (!fill) return name;
  auto exists = volume_exists(ctx, p, production);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return name;  // production has none yet: compose would have made it empty too
  auto helper = helper_for(ctx);
  helper.name = rehearsal_name(fmt::format("rbr-{}-fill-{}", r.run_id(), production));
  for (const auto& label : r.labels()) helper.labels.push_back(label);
  auto image = r.mapped(kRehearsalHelperImage, "").value_or(kDefaultHelperImage);
  auto argv = helper_argv(p, helper, {production + ":/from:ro", name + ":/to"}, image, {"sh", "-c", "cp -a /from/. /to/"});
  if (ctx.log) ctx.log(fmt::format("copying volume {} into {} (read-only)", production, name));
  auto done = run_helper(ctx, p, helper, argv);
  if (!done || !done->succeeded()) return std::unexpected(explain(ctx, p, "copy of volume " + production, done));
  return name;
}

std::string rehearsal_project(const Rehearsal& r) { return rehearsal_name("rbr-" + r.run_id()); }

void started_project(Rehearsal& r, const std::string& production) { r.map(kRehearsalProjects, production, rehearsal_project(r)); }

std::optional<std::string> started(const Rehearsal& r, const std::string& production) {
  return r.mapped(kRehearsalProjects, production);
}

Result<int> free_port(const std::string& host_ip) {
  bool v6 = host_ip.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("cannot open a socket to find a free port");
  int port = -1;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    if (host_ip.empty() || ::inet_pton(AF_INET6, host_ip.c_str(), &a.sin6_addr) != 1) a.sin6_addr = in6addr_any;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin6_port);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (host_ip.empty() || ::inet_pton(AF_INET, host_ip.c_str(), &a.sin_addr) != 1) a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ::close(fd);
  if (port <= 0) return fail(fmt::format("no free port on {}", host_ip.empty() ? "this host" : host_ip));
  return port;
}

CopyKind rehearsal_copies() {
  return CopyKind{.name = kRehearsalVolumes,
                  .remove = {},  // labelled: the sweep removes them
                  .sweep = sweep_labelled,
                  .summarize = [](const Rehearsal& r, nlohmann::json& summary) {
                    nlohmann::json volumes = nlohmann::json::object(), projects = nlohmann::json::object();
                    for (const auto& [prod, copy] : r.all_mapped(kRehearsalVolumes)) volumes[prod] = copy;
                    for (const auto& [prod, project] : r.all_mapped(kRehearsalProjects)) projects[prod] = project;
                    summary["volumes"] = volumes;
                    summary["projects"] = projects;
                  }};
}

Result<Rehearsed> rehearse_volume(Rehearsal& r, ActionContext& ctx, const Params& p) {
  if (p.has("image")) r.map(kRehearsalHelperImage, "", p.str("image"));
  auto copy = rehearsal_volume(r, ctx, p, p.str("volume"), false);
  if (!copy) return std::unexpected(copy.error());
  return Rehearsed::run(with_param(p, "volume", *copy), "into volume " + *copy);
}

Result<Rehearsed> rehearse_by_project(Rehearsal& r, ActionContext&, const Params& p) {
  if (!p.has("project"))
    return Rehearsed::skip("not rehearsed: it selects containers by name, which would find production's");
  auto project = started(r, p.str("project"));
  if (!project) return Rehearsed::skip(fmt::format("not rehearsed: the rehearsal has not started project {}", p.str("project")));
  return Rehearsed::run(with_param(p, "project", *project), "project " + *project);
}

std::vector<std::string> shared_with_production(const std::string& name, const YAML::Node& s) {
  std::vector<std::string> refused;
  auto scalar = [&](const char* key) {
    return s[key] && s[key].IsScalar() ? s[key].Scalar() : std::string();
  };
  auto network = scalar("network_mode");
  if (network == "host")
    refused.push_back(fmt::format(
        "service {} uses network_mode: host: its ports cannot be moved off production's", name));
  else if (network.starts_with("container:"))
    refused.push_back(fmt::format(
        "service {} uses network_mode: {}: it would join a production container's network", name,
        network));
  for (const char* key : {"pid", "ipc"}) {
    auto mode = scalar(key);
    if (mode == "host" || mode.starts_with("container:"))
      refused.push_back(fmt::format(
          "service {} uses {}: {}: the copy would share {}'s {} namespace with production", name,
          key, mode, mode == "host" ? "the host" : mode.substr(10), key));
  }
  if (s["volumes_from"] && s["volumes_from"].IsSequence())
    for (const auto& from : s["volumes_from"])
      if (from.IsScalar() && from.Scalar().starts_with("container:"))
        refused.push_back(fmt::format(
            "service {} uses volumes_from: {}: it would mount a production container's volumes", name,
            from.Scalar()));
  return refused;
}

}  // namespace rollback::actions::docker
