// docker.exec: a command inside a running container, such as the runbook's
// `docker-compose exec postgres pg_isready -U evolution_user -d evolution_staging`. The
// container is a compose `project`'s `service` (its first running container, found by the
// engine's labels, so no compose file is needed) or a `container` by name or ID. The argv
// reaches the container as-is, never through a shell. `read_only: true` declares the
// command a check: it then runs in dry runs and preflight and may be a criterion's probe.
#include <fmt/format.h>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_rehearse.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions::docker {
namespace {

std::string where(const Params& p) {
  if (p.has("container")) return "container " + p.str("container");
  return fmt::format("service {} of project {}", p.str("service"), p.str("project"));
}

// The container to exec in; a service with no running container is a transient failure (it
// may be starting).
Result<std::string> find_container(ActionContext& ctx, const Params& p) {
  if (p.has("container")) return p.str("container");
  auto argv = docker_argv(p);
  argv.insert(argv.end(), {"ps", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project=" + p.str("project"),
                           "--filter", "label=com.docker.compose.service=" + p.str("service")});
  auto done = run_checked(ctx, p, argv, {.cap = kShortCommand, .log_output = false});
  if (!done) return std::unexpected(done.error());
  auto ids = output_lines(done->out);
  if (ids.empty())
    return fail(fmt::format("{}no running container for {} (docker ps shows none)", step_prefix(ctx), where(p)), true);
  return ids.front();
}

std::vector<std::string> exec_argv(const Params& p, const std::string& container) {
  auto argv = docker_argv(p);
  argv.push_back("exec");
  if (p.has("user")) argv.insert(argv.end(), {"--user", p.str("user")});
  if (p.has("workdir")) argv.insert(argv.end(), {"--workdir", p.str("workdir")});
  for (const auto& [k, v] : p.map("env")) argv.insert(argv.end(), {"--env", k + "=" + v});
  argv.push_back(container);
  auto command = p.list("argv");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::string first_line(const std::string& text) {
  auto lines = nonempty_lines(text);
  if (lines.empty()) return "";
  std::string line = lines.front();
  if (line.size() > 200) {
    line.resize(200);
    line.append("...");
  }
  return line;
}

Outcome run_exec(ActionContext& ctx, const Params& p) {
  auto container = find_container(ctx, p);
  if (!container) return to_outcome(container.error());
  auto argv = exec_argv(p, *container);
  auto done = run(ctx, p, argv);
  auto command = proc::display_command(p.list("argv"));
  if (!done || done->timed_out || done->cancelled) return to_outcome(explain(ctx, p, "docker exec " + command, done));
  long long expected = p.integer("expect_exit", 0);
  std::string output = trim(done->out);
  Outcome outcome;
  outcome.observations.push_back({"exit", std::to_string(done->exit_code), done->exit_code == expected});
  outcome.log_excerpt = output_excerpt(*done, 20);
  // 125-127: docker itself (no such container, command not found), not the command's answer.
  if (done->exit_code >= 125 && done->exit_code <= 127 && expected < 125) {
    auto error = explain(ctx, p, "docker exec " + command, done);
    return Outcome::failure(error.message, error.transient || done->err.find("is not running") != std::string::npos);
  }
  if (done->exit_code != expected) {
    auto why = last_error_line(*done);
    outcome.ok = false;
    outcome.message = fmt::format("{}`{}` in {} exited {}, expected {}{}{}", step_prefix(ctx), command, where(p),
                                  done->exit_code, expected, why.empty() ? "" : ": ", why);
    return outcome;
  }
  if (p.has("expect_output") && output.find(p.str("expect_output")) == std::string::npos) {
    outcome.ok = false;
    outcome.message = fmt::format("{}`{}` in {}: expected the output to contain \"{}\", got \"{}\"", step_prefix(ctx),
                                  command, where(p), redact(p.str("expect_output")), redact(first_line(output)));
    return outcome;
  }
  if (p.has("into") && ctx.set_var) ctx.set_var(p.str("into"), output);
  outcome.observations.push_back({"output", redact(first_line(output)), true});
  outcome.message = fmt::format("`{}` in {}: exit {}{}", command, where(p), done->exit_code,
                                output.empty() ? "" : ", " + redact(first_line(output)));
  return outcome;
}

void validate_exec(ParamCheck& check) {
  bool project = check.has("project"), container = check.has("container"), service = check.has("service");
  if (project == container)
    check.error_at_step("docker.exec needs `project` (with `service`) or `container`, exactly one of them");
  if (project && !service) check.error("project", "`project` needs `service`: which service to exec in");
  if (container && service) check.error("service", "`service` goes with `project`, not with `container`");
  if (auto ro = check.literal("read_only"); !ro && check.has("read_only"))
    check.error("read_only", "read_only must be written as true or false, not computed from a ${var}");
}

std::string describe_exec(const Params& p) {
  std::string target = p.has("container") ? p.str("container") : fmt::format("<{} of {}>", p.str("service"), p.str("project"));
  auto text = proc::display_command(exec_argv(p, target));
  if (p.integer("expect_exit", 0) != 0) text += fmt::format("; expect exit {}", p.integer("expect_exit", 0));
  if (p.has("expect_output")) text += fmt::format("; expect output containing \"{}\"", p.str("expect_output"));
  if (p.has("into")) text += fmt::format("; output into ${{{}}}", p.str("into"));
  return text;
}

}  // namespace

void register_exec_action(Registry& registry) {
  registry.add(Action{
      .name = "docker.exec",
      .summary = "run a command in a running container (a compose service or a named container)",
      .params = with_engine({param("project").names(plan::Names::Identifier)
                     .doc("the compose project whose `service` to exec in (found by labels, no compose file needed)"),
                 param("service").names(plan::Names::Identifier)
                     .doc("with project: the compose service; its first running container is used"),
                 param("container").names(plan::Names::Identifier)
                     .doc("the container's name or ID (instead of project and service)"),
                 param("argv", ParamType::StringList).required()
                     .doc("the command and its arguments, passed to docker exec as-is (no shell)"),
                 param("expect_exit", ParamType::Int).doc("the exit code that counts as success (default 0)"),
                 param("expect_output").doc("text the trimmed output must contain, else the step fails"),
                 param("into").sets_var().doc("sets this var to the command's trimmed output"),
                 param("read_only", ParamType::Bool)
                     .doc("a literal true: the command only reads, runs in dry runs and preflight, may be a probe"),
                 param("user").doc("the user to run the command as (docker exec --user)"),
                 param("workdir").doc("the folder in the container to run the command in (docker exec --workdir)"),
                 param("env", ParamType::StringMap)
                     .doc("environment variables for the command (docker exec --env NAME=value)")}),
      .destructive = true,
      .read_only = false,
      .read_only_param = "read_only",
      .rerun_safe = false,
      .validate = validate_exec,
      .describe = describe_exec,
      .preflight =
          [](ActionContext& ctx, const Params& p) {
            if (auto daemon = check_daemon(ctx, p); !daemon) return to_outcome(daemon.error());
            return Outcome::success("daemon answering");
          },
      .run = run_exec,
      .rehearse = rehearse_by_project,
  });
}

}  // namespace rollback::actions::docker
