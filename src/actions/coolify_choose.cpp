// Picking the deployment to roll back to, the way the runbook's "Deployments -> last
// successful -> Redeploy" does, and reading a deployment's logs.
#include <rollback/actions/coolify.hpp>

#include <fmt/format.h>

namespace rollback::actions::coolify {

std::optional<Deployment> current_of(const std::vector<Deployment>& newest_first) {
  for (const auto& d : newest_first) {
    if (d.status == "in_progress") return d;
  }
  for (const auto& d : newest_first) {
    if (d.status == "finished") return d;
  }
  return std::nullopt;
}

Result<Choice> choose(const std::vector<Deployment>& newest_first, const std::string& wanted) {
  Choice choice;
  choice.current = current_of(newest_first);
  size_t current_at = newest_first.size();
  for (size_t i = 0; i < newest_first.size() && choice.current; ++i) {
    if (newest_first[i].uuid == choice.current->uuid) {
      current_at = i;
      break;
    }
  }

  if (!wanted.empty()) {
    for (const auto& d : newest_first) {
      if (d.uuid != wanted) continue;
      if (d.status != "finished") {
        return fail(fmt::format("deployment {} is {}, not finished: only a finished deployment can be a "
                                "rollback target", d.uuid, d.status));
      }
      choice.target = d;
      return choice;
    }
    if (wanted.size() >= 7) {
      for (const auto& d : newest_first) {
        if (d.status == "finished" && d.commit.starts_with(wanted)) {
          choice.target = d;
          return choice;
        }
      }
    }
    return fail(fmt::format("no finished deployment with uuid or commit '{}' among the {} listed", wanted,
                            newest_first.size()));
  }
  if (!choice.current) {
    return fail(fmt::format("none of the {} deployments listed is finished or running: nothing to roll back from",
                            newest_first.size()));
  }
  for (size_t i = current_at + 1; i < newest_first.size(); ++i) {
    const auto& d = newest_first[i];
    // failed, cancelled-by-user, queued and in_progress deployments never ran healthy.
    if (d.status == "finished" && d.commit != choice.current->commit) {
      choice.target = d;
      return choice;
    }
  }
  return fail(fmt::format("no finished deployment older than the current one ({}, commit {}) has a different "
                          "commit", choice.current->uuid, choice.current->commit));
}

std::vector<std::string> last_log_lines(const std::string& logs, size_t n) {
  std::vector<std::string> lines;
  auto j = nlohmann::json::parse(logs, nullptr, false);
  if (!j.is_array()) return lines;
  for (const auto& entry : j) {
    if (!entry.is_object()) continue;
    if (entry.value("hidden", false)) continue;
    auto out = entry.find("output");
    if (out == entry.end() || !out->is_string()) continue;
    lines.push_back(out->get<std::string>());
  }
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<long>(n));
  return lines;
}

}  // namespace rollback::actions::coolify
