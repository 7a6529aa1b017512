// Ending what runs left behind (include/rollback/engine/cleanup.hpp).
#include <rollback/engine/cleanup.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include <rollback/engine/state_store.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine {
namespace {
using Held = std::map<std::string, std::vector<nlohmann::json>>;  // action -> resources

}  // namespace

void clean_up_action(const actions::Action& action, proc::Runner& runner, const CleanupRequest& request,
                     std::vector<nlohmann::json> held) {
  if (!action.cleanup) return;
  actions::CleanupContext ctx{.runner = runner,
                              .state_dir = request.state_dir,
                              .run_id = request.run_id,
                              .held = std::move(held),
                              .log = request.log ? request.log : [](std::string_view) {}};
  try {
    action.cleanup(ctx);
  } catch (const std::exception& e) {
    if (request.log) request.log(redact(fmt::format("cleanup of {} failed: {}", action.name, e.what())));
  }
}

void clean_up(const actions::Registry& registry, proc::Runner& runner, const CleanupRequest& request) {
  Held held;
  for (const auto& h : StateStore(request.state_dir).held(request.run_id)) held[h.action].push_back(h.resource);
  for (const auto& name : request.sweep) held.try_emplace(name);
  for (const auto& [name, cleaner] : request.cleaners) held.try_emplace(name);
  for (auto& [name, resources] : held) {
    if (const auto* action = registry.find(name)) {
      clean_up_action(*action, runner, request, std::move(resources));
    } else if (auto it = request.cleaners.find(name); it != request.cleaners.end()) {
      actions::CleanupContext ctx{.runner = runner, .state_dir = request.state_dir, .run_id = request.run_id,
                                  .held = std::move(resources), .log = request.log ? request.log : [](std::string_view) {}};
      try {
        it->second(ctx);
      } catch (const std::exception& e) {
        if (request.log) request.log(redact(fmt::format("cleanup of {} failed: {}", name, e.what())));
      }
    }
  }
}

}  // namespace rollback::engine
