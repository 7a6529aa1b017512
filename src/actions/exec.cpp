// exec.run: a program from an argv list, or a literal /bin/sh script written in the plan.
#include <fmt/format.h>

#include <rollback/util/text.hpp>
#include <rollback/actions/adapters.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions {
namespace {

proc::Command make_command(const ActionContext& ctx, const Params& p) {
  proc::Command command;
  if (p.has("shell")) {
    command.argv = {"/bin/sh", "-c", p.str("shell")};
  } else {
    command.argv = p.list("argv");
  }
  command.env = p.map("env");
  if (p.has("cwd")) command.cwd = p.str("cwd");
  command.timeout = ctx.remaining(Millis(0));
  command.on_line = [&ctx](proc::Stream, std::string_view line) { ctx.log(line); };
  return command;
}

Outcome run_exec(ActionContext& ctx, const Params& p) {
  auto command = make_command(ctx, p);
  auto done = ctx.runner.run(command);
  if (!done) return Outcome::failure(done.error().message);
  long long expected = p.integer("expect_exit", 0);
  Outcome outcome;
  if (done->exit_code != expected || done->timed_out || done->cancelled)
    outcome = Outcome::failure(redact(fmt::format("{}: {} (expected exit {})", proc::display_command(command.argv),
                                                  done->outcome(), expected)),
                               done->timed_out);
  else if (done->term_signal != 0)
    outcome = Outcome::success(fmt::format("{}: {}", command.argv[0], done->outcome()));
  else
    outcome.say("exec.exited", "{}: exit {}", {command.argv[0], std::to_string(done->exit_code)});
  outcome.log_excerpt = output_excerpt(*done);
  outcome.observations.push_back({"exit", std::to_string(done->exit_code), outcome.ok});
  if (outcome.ok && p.has("into")) ctx.set_var(p.str("into"), std::string(trim(done->out)));
  return outcome;
}

void validate_exec(ParamCheck& check) {
  bool has_argv = check.has("argv"), has_shell = check.has("shell");
  if (has_argv == has_shell) {
    check.error_at_step("exec.run needs exactly one of `argv` (a list) or `shell` (a literal script)");
    return;
  }
  // A scalar argv ("pg_dump -Fc db") would run a program named by the whole line and fail
  // only mid-run, possibly after destructive steps; refuse it at load time instead.
  if (has_argv && check.node("argv").IsScalar())
    check.error("argv", "argv must be a list such as [pg_dump, -Fc, mydb], got the text '" +
                            check.node("argv").Scalar() + "'; for a command line write `shell:`");
  else if (has_argv && check.node("argv").IsSequence() && check.node("argv").size() == 0)
    check.error("argv", "argv must name a program");
  // A shell script must be what the plan's author wrote: interpolating values into it would
  // let a var or secret inject commands. Values reach the script through `env:` instead.
  if (has_shell && check.node("shell").IsScalar() &&
      check.node("shell").Scalar().find("${") != std::string::npos)
    check.error("shell",
                "shell scripts are run as written and cannot use ${...}; pass values with `env:` "
                "and read them as \"$NAME\" in the script");
}

}  // namespace

void register_exec_actions(Registry& registry) {
  registry.add(Action{
      .name = "exec.run",
      .summary = "run a program (argv list) or a literal /bin/sh script from the plan",
      .params = {param("argv", ParamType::StringList)
                     .doc("the program and its arguments, run without a shell (instead of shell)"),
                 param("shell")
                     .doc("a literal /bin/sh -c script, without ${...}; values come in through env (instead of argv)"),
                 param("env", ParamType::StringMap).doc("environment variables for the program, NAME: value"),
                 param("cwd").names(plan::Names::Path)
                     .doc("the folder to run the program in (default: rollback's own)"),
                 param("expect_exit", ParamType::Int).doc("the exit code that counts as success (default 0)"),
                 param("into").sets_var().doc("sets this var to the program's trimmed output, when it succeeds")},
      .destructive = false,
      .read_only = false,
      .rerun_safe = true,
      .validate = validate_exec,
      .describe =
          [](const Params& p) {
            std::string text = p.has("shell") ? "sh -c " + proc::display_command({p.str("shell")})
                                              : proc::display_command(p.list("argv"));
            if (p.has("cwd")) text += fmt::format("  (in {})", p.str("cwd"));
            return text;
          },
      .preflight = nullptr,
      .run = run_exec,
  });
}

}  // namespace rollback::actions
