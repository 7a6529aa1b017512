// Env files, image references and pins (include/rollback/actions/docker_swarm.hpp).
#include <rollback/actions/docker_swarm.hpp>

#include <fmt/format.h>

#include <cctype>

#include <rollback/util/text.hpp>

namespace rollback::actions::docker::swarm {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
}

std::string unquote(std::string value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front())
    return value.substr(1, value.size() - 2);
  return value;
}

// A YAML double-quoted scalar: image references need no escaping beyond these two.
std::string yaml_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

Result<std::map<std::string, std::string>> parse_env_file(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t line_no = 0;
  while (!text.empty()) {
    auto eol = text.find('\n');
    auto line = trim(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    std::string rest = line;
    if (rest.starts_with("export ")) rest = trim(std::string_view(rest).substr(7));
    auto eq = rest.find('=');
    if (eq == std::string_view::npos)
      return fail(fmt::format("line {}: expected KEY=VALUE", line_no));
    auto key = trim(std::string_view(rest).substr(0, eq));
    if (!valid_name(key))
      return fail(fmt::format("line {}: \"{}\" is not a variable name", line_no, key));
    out[key] = unquote(trim(std::string_view(rest).substr(eq + 1)));
  }
  return out;
}

std::string digest_reference(std::string_view image) {
  auto at = image.find("@sha256:");
  if (at == std::string_view::npos) return {};
  return repository_of(image.substr(0, at)) + std::string(image.substr(at));
}

std::string repository_of(std::string_view image) {
  auto at = image.find('@');
  if (at != std::string_view::npos) image = image.substr(0, at);
  // A tag is a ':' after the last '/'; a ':' before it is a registry's port.
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash))
    image = image.substr(0, colon);
  return std::string(image);
}

Result<std::vector<Pin>> pins_from_record(const nlohmann::json& record) {
  if (!record.is_object() || !record.contains("services") || !record["services"].is_object())
    return fail("expected {\"services\": {\"<service>\": {\"image_id\": ..., \"digest\": ...}}}");
  if (auto format = record.value("format", ""); format != kRecordFormat)
    return fail(fmt::format("format \"{}\" is not {}", format, kRecordFormat));
  std::vector<Pin> pins;
  for (const auto& [service, entry] : record["services"].items()) {
    auto digest = entry.is_object() ? entry.value("digest", "") : "";
    auto id = entry.is_object() ? entry.value("image_id", "") : "";
    if (!digest.empty())
      pins.push_back({service, digest, false});
    else if (id.starts_with("sha256:"))
      pins.push_back({service, id, true});
    else
      return fail(
          fmt::format("service {}: neither an image digest nor an image ID was recorded", service));
  }
  return pins;
}

std::vector<Pin> pins_from_map(const std::map<std::string, std::string>& images) {
  std::vector<Pin> pins;
  for (const auto& [service, image] : images)
    pins.push_back({service, image, image.starts_with("sha256:")});
  return pins;
}

std::string pins_override(const std::vector<Pin>& pins, const std::string& version) {
  std::string out = "# written by rollback: each service pinned to an exact image\n";
  if (!version.empty()) out += "version: " + yaml_quoted(version) + "\n";
  out += "services:\n";
  for (const auto& pin : pins)
    out += fmt::format("  {}:\n    image: {}\n", yaml_quoted(pin.service), yaml_quoted(pin.image));
  return out;
}

}  // namespace rollback::actions::docker::swarm
