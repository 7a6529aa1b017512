// How a run looks on the terminal: the engine's RunObserver (engine/run.hpp) printed as
// console progress, JSON Lines under --json, prompts for confirmation and for a target.
// Every command that runs a plan makes its RunService here.
#pragma once

#include <optional>

#include <rollback/cli/common.hpp>
#include <rollback/engine/run.hpp>
#include <rollback/report/console.hpp>
#include <rollback/report/json_lines.hpp>

namespace rollback::cli {

class RunView final : public engine::RunObserver {
 public:
  // `lang`: the plan's report.lang, the language of the console's words.
  explicit RunView(const GlobalOptions& global, const std::string& lang = "en");

  void error(std::string_view message) override;
  void warn(std::string_view line) override;
  void note(std::string_view line) override;
  void event(const nlohmann::json& event) override;
  void progress(engine::ExecuteOptions& options) override;
  void log_line(std::string_view step, std::string_view line) override;
  bool interactive() override;
  bool confirm(const plan::Plan& plan, const std::optional<plan::Target>& target,
               const std::string& destructive) override;
  std::optional<std::string> pick_target(const plan::Plan& plan, const std::vector<engine::CatalogRow>& rows) override;
  void finished(const engine::RunRecord& record, const std::optional<std::filesystem::path>& report,
                const nlohmann::json& json_extra) override;

 private:
  const GlobalOptions& global_;
  report::ConsoleProgress console_;
  report::JsonLines events_;
};

// The run service with the built-in registry, the system's process runner, this view, the
// report writer and the plan search path of `global`.
engine::RunService run_service(const GlobalOptions& global, RunView& view);

}  // namespace rollback::cli
