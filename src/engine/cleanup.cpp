// Ending what runs left behind (include/rollback/engine/cleanup.hpp).
#include <rollback/engine/cleanup.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include <rollback/engine/journal.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::engine {
namespace {
namespace fs = std::filesystem;

using Held = std::map<std::string, std::vector<nlohmann::json>>;  // action -> resources

void collect(const fs::path& journal, bool only_unfinished, Held& held) {
  auto record = read_journal(journal);
  if (!record || (only_unfinished && record->ended)) return;
  for (const auto& h : record->held) held[h.action].push_back(h.resource);
}

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
  auto runs = fs::path(request.state_dir) / "runs";
  std::error_code ec;
  if (!request.run_id.empty()) {
    collect(runs / request.run_id / "journal.jsonl", false, held);
  } else {
    for (fs::directory_iterator it(runs, ec), end; !ec && it != end; it.increment(ec))
      collect(it->path() / "journal.jsonl", true, held);
  }
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
