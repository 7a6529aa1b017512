#include <rollback/plan/plan.hpp>

#include <fmt/format.h>
#include <array>

namespace rollback::plan {
namespace {

constexpr std::array<std::pair<Phase, std::string_view>, 7> kPhases{{
    {Phase::Assess, "assess"},
    {Phase::Backup, "backup"},
    {Phase::Stop, "stop"},
    {Phase::Restore, "restore"},
    {Phase::Start, "start"},
    {Phase::Verify, "verify"},
    {Phase::Notify, "notify"},
}};

constexpr std::array<std::pair<Kind, std::string_view>, 7> kKinds{{
    {Kind::Quick, "quick"},
    {Kind::Full, "full"},
    {Kind::Emergency, "emergency"},
    {Kind::Coolify, "coolify"},
    {Kind::GitSql, "git-sql"},
    {Kind::Backup, "backup"},
    {Kind::Custom, "custom"},
}};

}  // namespace

std::string Location::str() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

Location location_of(const std::string& file, const YAML::Node& node) {
  Location loc{file, 0, 0};
  if (node.IsDefined()) {
    auto mark = node.Mark();
    if (mark.line >= 0) {
      loc.line = mark.line + 1;
      loc.column = mark.column + 1;
    }
  }
  return loc;
}

std::string Diagnostic::str() const {
  return fmt::format("{}: {}", where.str(), message);
}

std::string_view to_string(Phase phase) {
  for (auto [p, name] : kPhases)
    if (p == phase) return name;
  return "restore";
}

std::string_view to_string(Kind kind) {
  for (auto [k, name] : kKinds)
    if (k == kind) return name;
  return "custom";
}

std::optional<Phase> parse_phase(std::string_view text) {
  for (auto [p, name] : kPhases)
    if (name == text) return p;
  return std::nullopt;
}

std::optional<Kind> parse_kind(std::string_view text) {
  for (auto [k, name] : kKinds)
    if (name == text) return k;
  return std::nullopt;
}

bool Plan::has_destructive_steps() const {
  for (const auto& step : steps)
    if (step.destructive) return true;
  return false;
}

size_t Plan::block_end(size_t first) const {
  if (first >= steps.size()) return steps.size();
  size_t end = first + 1;
  const std::string& group = steps[first].group;
  if (group.empty()) return end;
  while (end < steps.size() && steps[end].group == group) ++end;
  return end;
}

}  // namespace rollback::plan
