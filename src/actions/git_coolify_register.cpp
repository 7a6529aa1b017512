// Registers the git and Coolify actions and their target sources.
#include <rollback/actions/adapters.hpp>
#include <rollback/actions/coolify.hpp>
#include <rollback/actions/git.hpp>

namespace rollback::actions {

void register_git_coolify_actions(Registry& registry) {
  registry.add(git::revert_action());
  registry.add(git::current_action());
  registry.add(coolify::rollback_action());
  registry.add_target_source("git", git::list_from_spec);
  registry.add_target_source("coolify", coolify::list_from_spec);
  registry.add_copy_kind(git::rehearsal_clones());
}

}  // namespace rollback::actions
