#include <rollback/actions/adapters.hpp>

#include <stdexcept>

// Every adapter's registration function, one line each: ADAPTER(namespace under rollback,
// function). Each is defined in its adapter's own file under src/actions/ and registers
// there, in full, what the file defines: its actions (with their rehearse behaviours), its
// target sources, its kinds of rehearsal copy. The list declares the functions too, so adding
// an adapter is its new file and one line here.
#define ROLLBACK_ADAPTERS(ADAPTER)                                                                  \
  ADAPTER(actions, register_exec_actions)                  /* exec.cpp: exec.run */                 \
  ADAPTER(actions, register_fs_actions)                    /* fs.cpp: fs.copy, move, mkdir, ... */  \
  ADAPTER(actions, register_checksum_action)               /* fs_checksum.cpp: fs.checksum */       \
  ADAPTER(actions, register_disk_free_action)              /* fs_disk_free.cpp: fs.disk_free */     \
  ADAPTER(actions, register_wait_actions)                  /* fs.cpp: wait.sleep */                 \
  ADAPTER(actions, register_postgres_actions)              /* postgres.cpp: pg.* */                 \
  ADAPTER(actions, register_http_actions)                  /* http.cpp: http.probe, http.request */ \
  ADAPTER(actions, register_git_coolify_actions)           /* git_coolify_register.cpp */           \
  ADAPTER(actions, register_coolify_backup_targets)        /* coolify_backup_targets.cpp */         \
  ADAPTER(actions, register_notify_actions)                /* notify.cpp: notify.* */               \
  ADAPTER(actions, register_rclone_transport)              /* rclone.cpp: the offsite: transport */ \
  ADAPTER(actions, register_monitoring_actions)            /* monitoring_client.cpp: prometheus.query, alertmanager.alerts */ \
  ADAPTER(actions::docker, register_compose_action)        /* docker_compose.cpp */                 \
  ADAPTER(actions::docker, register_container_actions)     /* docker_containers.cpp */              \
  ADAPTER(actions::docker, register_volume_actions)        /* docker_volume.cpp */                  \
  ADAPTER(actions::docker, register_stats_action)          /* docker_stats.cpp */                   \
  ADAPTER(actions::docker, register_images_action)         /* docker_images_record.cpp */           \
  ADAPTER(actions::docker, register_exec_action)           /* docker_exec.cpp: docker.exec */       \
  ADAPTER(actions::docker::swarm, register_stack_deploy_action)     /* docker_swarm_deploy.cpp */   \
  ADAPTER(actions::docker::swarm, register_service_rollback_action) /* docker_swarm_rollback.cpp */ \
  ADAPTER(actions::docker::swarm, register_service_ps_action)       /* docker_swarm_ps.cpp */       \
  ADAPTER(actions::docker::swarm, register_stack_record_action)     /* docker_swarm_record.cpp */

namespace rollback {

#define ROLLBACK_DECLARE(ns, function) \
  namespace ns {                       \
  void function(actions::Registry& registry);  \
  }
ROLLBACK_ADAPTERS(ROLLBACK_DECLARE)
#undef ROLLBACK_DECLARE

}  // namespace rollback

namespace rollback::actions {

ActionSchema Action::schema() const {
  return ActionSchema{.name = name, .summary = summary, .params = params, .destructive = destructive,
                      .read_only = read_only, .failure_changes_nothing = failure_changes_nothing,
                      .read_only_param = read_only_param, .validate = validate};
}

void Registry::add(Action action) {
  // Two adapters claiming one name is a programming error: the second would silently win.
  if (actions_.contains(action.name)) throw std::logic_error("action registered twice: " + action.name);
  schemas_.emplace(action.name, action.schema());
  auto name = action.name;
  actions_.emplace(std::move(name), std::move(action));
}

void Registry::add_target_source(std::string from, plan::TargetSource source) {
  sources_.add(std::move(from), std::move(source));
}

void Registry::add_target_check(plan::TargetCheck check) { sources_.add_check(std::move(check)); }

void Registry::add_copy_kind(CopyKind kind) {
  for (const auto& known : copy_kinds_)
    if (known.name == kind.name) throw std::logic_error("copy kind registered twice: " + kind.name);
  copy_kinds_.push_back(std::move(kind));
}

const Action* Registry::find(std::string_view name) const {
  auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : &it->second;
}

std::vector<const Action*> Registry::all() const {
  std::vector<const Action*> out;
  for (const auto& [name, action] : actions_) out.push_back(&action);
  return out;
}

const ActionSchema* Registry::schema(std::string_view name) const {
  auto it = schemas_.find(name);
  return it == schemas_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, action] : actions_) out.push_back(name);
  return out;
}

}  // namespace rollback::actions

namespace rollback {

const actions::Registry& actions::builtin_registry() {
  static const Registry registry = [] {
    actions::Registry r;
#define ROLLBACK_REGISTER(ns, function) ns::function(r);
    ROLLBACK_ADAPTERS(ROLLBACK_REGISTER)
#undef ROLLBACK_REGISTER
    return r;
  }();
  return registry;
}

}  // namespace rollback
