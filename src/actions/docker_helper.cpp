// Helper containers (include/rollback/actions/docker_helper.hpp).
#include <rollback/actions/docker_helper.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <random>
#include <set>

#include <rollback/actions/output.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker {
namespace {

constexpr Millis kRemoveTime{30'000};

std::string suffix() {
  static thread_local std::mt19937 gen{std::random_device{}()};
  return fmt::format("{:04x}", gen() & 0xffff);
}

// Docker names take [a-zA-Z0-9][a-zA-Z0-9_.-]*; run ids and step ids already do.
std::string name_part(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ? c : '-');
  return out;
}

nlohmann::json resource_of(const Params& p, const Helper& helper) {
  return engine_resource(p, {{"kind", "container"}, {"name", helper.name}});
}

// `docker rm -f` of `names`, which must run even while the run is being interrupted.
void remove(proc::Runner& runner, const std::vector<std::string>& names, const std::pair<std::string, std::string>& engine,
            const std::function<void(std::string_view)>& log) {
  end_on_engine(runner, {"rm", "-f"}, names, engine, kRemoveTime, "No such container", log);
}

}  // namespace

nlohmann::json engine_resource(const Params& p, nlohmann::json resource) {
  if (p.has("context")) resource["context"] = p.str("context");
  if (p.has("host")) resource["host"] = p.str("host");
  return resource;
}

proc::Command engine_command(const std::vector<std::string>& verb, const std::vector<std::string>& ids,
                             const std::pair<std::string, std::string>& engine, Millis timeout) {
  const auto& [context, host] = engine;
  proc::Command command;
  command.argv = {"docker"};
  if (!context.empty()) command.argv.insert(command.argv.end(), {"--context", context});
  command.argv.insert(command.argv.end(), verb.begin(), verb.end());
  command.argv.push_back("--");
  command.argv.insert(command.argv.end(), ids.begin(), ids.end());
  if (!host.empty()) command.env["DOCKER_HOST"] = host;
  command.timeout = timeout;
  command.survives_cancel = true;
  return command;
}

void end_on_engine(proc::Runner& runner, const std::vector<std::string>& verb, const std::vector<std::string>& ids,
                   const std::pair<std::string, std::string>& engine, Millis timeout, std::string_view benign,
                   const std::function<void(std::string_view)>& log) {
  if (ids.empty()) return;
  auto command = engine_command(verb, ids, engine, timeout);
  if (log) log("$ " + proc::display_command(command.argv));
  auto done = runner.run(command);
  if (log && done && !done->succeeded() && done->err.find(benign) == std::string::npos)
    log(fmt::format("could not {} {}: {}", verb.front(), fmt::join(ids, " "), last_error_line(*done)));
}

Helper helper_for(const ActionContext& ctx) {
  Helper h;
  std::string run = ctx.run_id.empty() ? fmt::format("adhoc-{}", ::getpid()) : ctx.run_id;
  h.name = name_part(fmt::format("rb-{}-{}-{}", run, ctx.step_id.empty() ? "step" : ctx.step_id, suffix()));
  h.labels.push_back(fmt::format("{}={}", kRunLabel, run));
  if (!ctx.state_dir.empty()) h.labels.push_back(fmt::format("{}={}", kStateLabel, ctx.state_dir));
  if (!ctx.step_id.empty()) h.labels.push_back(fmt::format("{}={}", kStepLabel, ctx.step_id));
  return h;
}

std::vector<std::string> helper_argv(const Params& p, const Helper& helper, const std::vector<std::string>& mounts,
                                     const std::string& image, const std::vector<std::string>& command) {
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"run", "--rm", "--name", helper.name, "--network", "none"});
  for (const auto& label : helper.labels) argv.insert(argv.end(), {"--label", label});
  for (const auto& m : mounts) argv.insert(argv.end(), {"-v", m});
  argv.push_back(image);
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

Result<proc::Completed> run_helper(ActionContext& ctx, const Params& p, const Helper& helper,
                                   const std::vector<std::string>& argv) {
  auto resource = resource_of(p, helper);
  if (ctx.hold) ctx.hold(resource);
  auto done = run(ctx, p, argv);
  // A docker CLI that timed out, was interrupted or failed may leave its container running
  // on: it goes before anyone reads this step's result.
  if (!done || !done->succeeded()) remove(ctx.runner, {helper.name}, {p.str("context"), p.str("host")}, ctx.log);
  if (ctx.release) ctx.release(resource);
  return done;
}

CreatedHelper::CreatedHelper(ActionContext& ctx, const Params& p, Helper helper)
    : ctx_(ctx), p_(p), helper_(std::move(helper)), resource_(resource_of(p, helper_)) {
  if (ctx_.hold) ctx_.hold(resource_);
}

CreatedHelper::~CreatedHelper() {
  remove(ctx_.runner, {helper_.name}, {p_.str("context"), p_.str("host")}, ctx_.log);
  if (ctx_.release) ctx_.release(resource_);
}

Status CreatedHelper::create(const std::vector<std::string>& mounts, const std::string& image) {
  auto argv = docker_argv(p_);
  argv.insert(argv.end(), {"create", "--name", helper_.name, "--network", "none"});
  for (const auto& label : helper_.labels) argv.insert(argv.end(), {"--label", label});
  for (const auto& m : mounts) argv.insert(argv.end(), {"-v", m});
  argv.push_back(image);
  auto done = run_checked(ctx_, p_, argv, {.cap = kShortCommand});
  if (!done) return std::unexpected(done.error());
  return ok();
}

Status check_mountable(const ActionContext& ctx, const std::filesystem::path& dir) {
  if (dir.string().find(':') == std::string::npos) return ok();
  return fail(fmt::format("{}the folder {} has a ':' in its path, which `docker run -v` reads as a separator; "
                          "keep archives in a folder whose path has none",
                          step_prefix(ctx), dir.string()));
}

void remove_helpers(CleanupContext& ctx) {
  HeldOnEngines held;
  for (const auto& r : ctx.held)
    if (r.value("kind", "") == "container")
      held[{r.value("context", ""), r.value("host", "")}].push_back(r.value("name", ""));
  for (const auto& [engine, names] : held) remove(ctx.runner, names, engine, ctx.log);
  if (ctx.state_dir.empty()) return;
  proc::Command list;
  list.argv = {"docker", "ps", "-aq", "--filter", fmt::format("label={}={}", kStateLabel, ctx.state_dir)};
  if (!ctx.run_id.empty()) list.argv.insert(list.argv.end(), {"--filter", fmt::format("label={}={}", kRunLabel, ctx.run_id)});
  list.timeout = kRemoveTime;
  list.survives_cancel = true;
  auto found = ctx.runner.run(list);
  if (!found || !found->succeeded()) return;  // no engine here: nothing of ours can run in it
  auto ids = nonempty_lines(found->out);
  if (!ids.empty() && ctx.log) ctx.log(fmt::format("removing {} helper container(s) a run left behind", ids.size()));
  remove(ctx.runner, ids, {}, ctx.log);
}

}  // namespace rollback::actions::docker
