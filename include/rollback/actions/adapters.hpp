// Registration functions, one per adapter file under src/actions/. Adding an adapter is
// one new file and one line in src/actions/registry.cpp.
#pragma once

#include <rollback/actions/action.hpp>

namespace rollback::actions {

void register_exec_actions(Registry& registry);    // exec.run
void register_fs_actions(Registry& registry);      // fs.*
void register_wait_actions(Registry& registry);    // wait.sleep
void register_git_coolify_actions(Registry& registry);  // git.*, coolify.*; targets from: git / coolify

}  // namespace rollback::actions
