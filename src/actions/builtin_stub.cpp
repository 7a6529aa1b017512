#include <rollback/actions/adapters.hpp>
namespace rollback::actions {
void register_exec_actions(Registry&) {}
void register_fs_actions(Registry&) {}
void register_wait_actions(Registry&) {}
}  // namespace rollback::actions
