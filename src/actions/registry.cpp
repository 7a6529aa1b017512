#include <rollback/actions/adapters.hpp>

namespace rollback::actions {

const Registry& builtin_registry() {
  static const Registry registry = [] {
    Registry r;
    register_exec_actions(r);
    register_fs_actions(r);
    register_wait_actions(r);
    register_postgres_actions(r);
    register_http_actions(r);
    register_git_coolify_actions(r);
    register_notify_actions(r);
    register_docker_actions(r);
    return r;
  }();
  return registry;
}

}  // namespace rollback::actions
