// A small action catalog for the plan tests: fake action schemas shaped like the real
// adapters', so the loader is tested without depending on any adapter (plan/ sits below
// actions/: these tests see only plan::ActionCatalog).
#pragma once

#include <map>

#include <rollback/plan/params.hpp>

namespace testing {

class FakeCatalog final : public rollback::plan::ActionCatalog {
 public:
  void add(rollback::plan::ActionSchema schema) {
    auto name = schema.name;
    schemas_.emplace(std::move(name), std::move(schema));
  }
  const rollback::plan::ActionSchema* schema(std::string_view name) const override {
    auto it = schemas_.find(std::string(name));
    return it == schemas_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& [name, schema] : schemas_) out.push_back(name);
    return out;
  }
  std::vector<std::string> target_sources() const override { return {"coolify", "dir", "git"}; }

 private:
  std::map<std::string, rollback::plan::ActionSchema> schemas_;
};

inline const rollback::plan::ActionCatalog& plan_test_registry() {
  using rollback::plan::ActionSchema;
  using rollback::plan::param;
  using rollback::plan::ParamCheck;
  using rollback::plan::ParamType;
  static const FakeCatalog catalog = [] {
    FakeCatalog c;
    ActionSchema compose;
    compose.name = "docker.compose";
    compose.destructive = true;
    compose.params = {param("dir").required().names(rollback::plan::Names::Path),
                      param("command").required().choices({"ps", "up", "down", "stop", "start", "restart", "logs"}),
                      param("services", ParamType::StringList), param("env", ParamType::StringMap),
                      param("remove_orphans", ParamType::Bool), param("tail", ParamType::Int)};
    c.add(compose);

    ActionSchema latest;
    latest.name = "fs.latest";
    latest.read_only = true;
    latest.params = {param("glob").required(), param("into").required().sets_var()};
    c.add(latest);

    ActionSchema probe;
    probe.name = "http.probe";
    probe.read_only = true;
    probe.params = {param("url"), param("urls", ParamType::StringList), param("expect_status", ParamType::Int),
                    param("max_latency", ParamType::Duration), param("expect_json", ParamType::Any)};
    probe.validate = [](ParamCheck& check) {
      if (check.has("url") && check.has("urls")) check.error("urls", "use url or urls, not both");
      if (!check.has("url") && !check.has("urls")) check.error_at_step("http.probe needs url or urls");
    };
    c.add(probe);

    ActionSchema stats;
    stats.name = "docker.stats";
    stats.read_only = true;
    stats.params = {param("filter", ParamType::StringList), param("project")};
    c.add(stats);

    ActionSchema disk;
    disk.name = "fs.disk_free";
    disk.read_only = true;
    disk.params = {param("path").required(), param("expect")};
    c.add(disk);

    ActionSchema sleep;
    sleep.name = "wait.sleep";
    sleep.read_only = true;
    sleep.params = {param("duration", ParamType::Duration).required()};
    c.add(sleep);

    ActionSchema run;
    run.name = "exec.run";
    run.destructive = true;
    run.params = {param("argv", ParamType::StringList), param("env", ParamType::StringMap), param("cwd"),
                  param("expect_exit", ParamType::Int)};
    c.add(run);

    // A failure of it leaves things as they were (coolify.rollback): `fallback: failed`.
    ActionSchema redeploy;
    redeploy.name = "coolify.rollback";
    redeploy.destructive = true;
    redeploy.failure_changes_nothing = true;
    redeploy.params = {param("url").required(), param("application").required(), param("to")};
    c.add(redeploy);

    ActionSchema webhook;
    webhook.name = "notify.webhook";
    webhook.params = {param("url").required(), param("message"), param("template")};
    c.add(webhook);
    return c;
  }();
  return catalog;
}

}  // namespace testing
