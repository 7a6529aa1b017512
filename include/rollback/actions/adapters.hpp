// Registration functions, one per adapter file under src/actions/. Adding an adapter is
// one new file and one line in src/actions/registry.cpp.
#pragma once

#include <rollback/actions/action.hpp>

namespace rollback::actions {

void register_exec_actions(Registry& registry);      // exec.run
void register_fs_actions(Registry& registry);        // fs.copy, move, mkdir, remove, latest, checksum, disk_free
void register_checksum_action(Registry& registry);   // fs.checksum
void register_disk_free_action(Registry& registry);  // fs.disk_free
void register_wait_actions(Registry& registry);      // wait.sleep
void register_postgres_actions(Registry& registry);  // pg.ready, pg.query, pg.dump, pg.restore
void register_http_actions(Registry& registry);      // http.probe, http.request
void register_git_coolify_actions(Registry& registry);  // git.revert, git.current, coolify.rollback
void register_notify_actions(Registry& registry);  // notify.webhook, notify.email
void register_monitoring_actions(Registry& registry);  // prometheus.query, alertmanager.alerts
void register_docker_actions(Registry& registry);  // docker.compose, stop, ps, stats, volume.*
// How each action rehearses (Action::rehearse), attached after every adapter registered.
void register_rehearsals(Registry& registry);

}  // namespace rollback::actions
