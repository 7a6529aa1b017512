#include <rollback/actions/adapters.hpp>

#include <stdexcept>

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

void Registry::add_target_source(std::string from, plan::TargetLister lister) {
  sources_.add(std::move(from), std::move(lister));
}

void Registry::add_target_check(plan::TargetCheck check) { sources_.add_check(std::move(check)); }

void Registry::amend(std::string_view name, const std::function<void(Action&)>& change) {
  auto it = actions_.find(name);
  if (it == actions_.end()) throw std::logic_error("no action to amend: " + std::string(name));
  change(it->second);
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
    register_monitoring_actions(r);
    register_docker_actions(r);
    register_rehearsals(r);
    return r;
  }();
  return registry;
}

}  // namespace rollback::actions
