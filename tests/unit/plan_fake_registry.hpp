// A small action registry for the plan tests: fake actions with ParamSpecs shaped like the
// real adapters', so the loader is tested without depending on any adapter.
#pragma once

#include <rollback/actions/action.hpp>

namespace testing {

inline rollback::actions::ParamSpec plan_param(std::string name, rollback::actions::ParamType type,
                                               bool required = false,
                                               std::vector<std::string> choices = {},
                                               bool sets_var = false) {
  rollback::actions::ParamSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.required = required;
  spec.choices = std::move(choices);
  spec.sets_var = sets_var;
  return spec;
}

inline const rollback::actions::Registry& plan_test_registry() {
  using rollback::actions::Action;
  using rollback::actions::ParamCheck;
  using rollback::actions::ParamType;
  static const rollback::actions::Registry registry = [] {
    rollback::actions::Registry r;
    Action compose;
    compose.name = "docker.compose";
    compose.destructive = true;
    compose.params = {plan_param("dir", ParamType::String, true),
                      plan_param("command", ParamType::String, true,
                                 {"ps", "up", "down", "stop", "start", "restart", "logs"}),
                      plan_param("services", ParamType::StringList),
                      plan_param("env", ParamType::StringMap),
                      plan_param("remove_orphans", ParamType::Bool),
                      plan_param("tail", ParamType::Int)};
    r.add(compose);

    Action latest;
    latest.name = "fs.latest";
    latest.read_only = true;
    latest.params = {plan_param("glob", ParamType::String, true),
                     plan_param("into", ParamType::String, true, {}, true)};
    r.add(latest);

    Action probe;
    probe.name = "http.probe";
    probe.read_only = true;
    probe.params = {plan_param("url", ParamType::String), plan_param("urls", ParamType::StringList),
                    plan_param("expect_status", ParamType::Int),
                    plan_param("max_latency", ParamType::Duration),
                    plan_param("expect_json", ParamType::Any)};
    probe.validate = [](ParamCheck& check) {
      if (check.has("url") && check.has("urls")) check.error("urls", "use url or urls, not both");
      if (!check.has("url") && !check.has("urls"))
        check.error_at_step("http.probe needs url or urls");
    };
    r.add(probe);

    Action sleep;
    sleep.name = "wait.sleep";
    sleep.read_only = true;
    sleep.params = {plan_param("duration", ParamType::Duration, true)};
    r.add(sleep);

    Action run;
    run.name = "exec.run";
    run.destructive = true;
    run.params = {plan_param("argv", ParamType::StringList),
                  plan_param("env", ParamType::StringMap), plan_param("cwd", ParamType::String),
                  plan_param("expect_exit", ParamType::Int)};
    r.add(run);
    return r;
  }();
  return registry;
}

}  // namespace testing
