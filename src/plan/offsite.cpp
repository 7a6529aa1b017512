// plan/offsite.hpp: what a plan may name as its off-host remote.
#include <fmt/format.h>

#include <rollback/plan/interpolate.hpp>
#include <rollback/plan/offsite.hpp>
#include <rollback/plan/plan.hpp>

namespace rollback::plan {

std::string check_remote(std::string_view remote) {
  if (remote.empty()) return "must not be empty";
  if (remote.front() == '-') return fmt::format("'{}' starts with '-' (an option, not a remote)", remote);
  if (remote.front() == ':')
    return fmt::format("'{}' is an inline remote, whose keys would show in every process listing: define the remote "
                       "with RCLONE_CONFIG_* variables (offsite.env) or an rclone config file",
                       remote.substr(0, remote.find(',')));
  auto colon = remote.find(':');
  if (colon == std::string_view::npos || remote.front() == '/' || remote.front() == '.')
    return fmt::format("'{}' is a local path: an off-host copy needs an rclone remote, NAME:bucket/path", remote);
  auto name = remote.substr(0, colon);
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return fmt::format("'{}' is not an rclone remote name (letters, digits, '_', '-', '.')", name);
  if (remote.find('\n') != std::string_view::npos) return "holds a line break";
  return "";
}

std::string offsite_path(std::string_view remote, std::string_view name) {
  bool joined = remote.empty() || remote.ends_with(':') || remote.ends_with('/');
  return fmt::format("{}{}{}", remote, joined ? "" : "/", name);
}

Result<std::optional<OffsiteRemote>> bind_offsite(const Plan& plan, const Scope& scope) {
  if (plan.offsite.remote.empty()) return std::optional<OffsiteRemote>{};
  OffsiteRemote bound{.keep = plan.offsite.keep};
  auto remote = interpolate(plan.offsite.remote, scope);
  if (!remote) return fail("offsite.remote: " + remote.error().message);
  // A remote that is all ${var} and bound empty: this run keeps no off-host copy (the
  // shipped plans' `offsite_remote: ""` until a vars file sets it).
  if (remote->empty() && plan.offsite.remote.find("${") != std::string::npos)
    return std::optional<OffsiteRemote>{};
  if (auto bad = check_remote(*remote); !bad.empty()) return fail("offsite.remote: " + bad);
  bound.remote = *remote;
  for (const auto& [name, value] : plan.offsite.env) {
    auto text = interpolate(value, scope);
    if (!text) return fail(fmt::format("offsite.env.{}: {}", name, text.error().message));
    bound.env[name] = *text;
  }
  return std::optional<OffsiteRemote>{std::move(bound)};
}

}  // namespace rollback::plan
