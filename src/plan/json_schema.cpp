// plan_json_schema: the plan format as JSON Schema. Structure (which keys a section takes,
// which values a choice has) comes from the loader's lists in loader_internal.hpp; each
// step's `with` comes from its action's ParamSpecs. What only the loader can judge (a
// ${var} defined, a duration that parses) stays with `rollback validate`.
#include <rollback/plan/json_schema.hpp>

#include "loader_internal.hpp"

namespace rollback::plan {
namespace {

using nlohmann::json;

// A value written as ${...} stands for any type until the run resolves it.
const json kTemplated = {{"type", "string"}, {"pattern", "\\$\\{"}};

json one_of_or_templated(json schema) { return {{"anyOf", json::array({std::move(schema), kTemplated})}}; }

json closed_object(const std::vector<std::string>& keys, json properties = json::object()) {
  for (const auto& key : keys)
    if (!properties.contains(key)) properties[key] = json::object();
  return {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
}

json param_schema(const ParamSpec& spec) {
  json schema;
  switch (spec.type) {
    case ParamType::String: schema = {{"type", json::array({"string", "number", "boolean"})}}; break;
    case ParamType::Int: return one_of_or_templated({{"type", "integer"}});
    case ParamType::Bool: return one_of_or_templated({{"type", "boolean"}});
    case ParamType::Duration: schema = {{"type", json::array({"string", "number"})}}; break;
    case ParamType::StringList:
      return one_of_or_templated({{"type", "array"}, {"items", {{"type", json::array({"string", "number", "boolean"})}}}});
    case ParamType::StringMap: return one_of_or_templated({{"type", "object"}});
    case ParamType::Any: schema = json::object(); break;
  }
  if (!spec.choices.empty()) return one_of_or_templated({{"enum", spec.choices}});
  if (!spec.doc.empty()) schema["description"] = spec.doc;
  return schema;
}

json action_with(const ActionSchema& action) {
  json properties = json::object(), required = json::array();
  for (const auto& p : action.params) {
    properties[p.name] = param_schema(p);
    if (!p.doc.empty()) properties[p.name]["description"] = p.doc;
    if (p.required) required.push_back(p.name);
  }
  json with = {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  if (!required.empty()) with["required"] = required;
  return with;
}

json step_schema(const ActionCatalog& catalog) {
  json properties = {
      {"id", {{"type", "string"}, {"minLength", 1}}},
      {"name", {{"type", "string"}}},
      {"phase", {{"enum", detail::kPhases}}},
      {"action", {{"enum", catalog.names()}}},
      {"with", {{"type", "object"}}},
      {"timeout", {{"type", json::array({"string", "number"})}}},
      {"retry", closed_object(detail::kRetryKeys)},
      {"on_failure", {{"enum", detail::kOnFailure}}},
      {"when", {{"type", json::array({"string", "boolean"})}}},
      {"destructive", {{"type", "boolean"}}},
  };
  json step = closed_object(detail::kStepKeys, properties);
  step["required"] = {"id", "action"};
  json per_action = json::array();
  for (const auto& name : catalog.names()) {
    const auto* action = catalog.schema(name);
    if (!action) continue;
    per_action.push_back({{"if", {{"properties", {{"action", {{"const", name}}}}}, {"required", {"action"}}}},
                          {"then", {{"properties", {{"with", {{"$ref", "#/$defs/with/" + name}}}}}}}});
  }
  step["allOf"] = per_action;
  return step;
}

}  // namespace

json plan_json_schema(const ActionCatalog& catalog) {
  json with_defs = json::object();
  for (const auto& name : catalog.names())
    if (const auto* action = catalog.schema(name)) with_defs[name] = action_with(*action);
  json group = closed_object(detail::kGroupKeys, {{"parallel", {{"type", "array"}, {"minItems", 1},
                                                                {"items", {{"$ref", "#/$defs/step"}}}}},
                                                  {"id", {{"type", "string"}}},
                                                  {"name", {{"type", "string"}}}});
  group["required"] = {"parallel"};
  json target = closed_object(detail::kTargetKeys, {{"from", {{"enum", catalog.target_sources()}}},
                                                    {"default", {{"enum", detail::kTargetDefaults}}},
                                                    {"require", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                                                    {"keep", {{"type", "integer"}, {"minimum", 1}}},
                                                    {"makes", {{"type", "string"}, {"minLength", 1}}},
                                                    {"with", {{"type", "object"}}}});
  // A source that declares what target.with takes (coolify-backup) gets it checked, as the
  // loader does.
  json per_source = json::array();
  for (const auto& from : catalog.target_sources())
    if (const auto* takes = catalog.target_with(from))
      per_source.push_back(
          {{"if", {{"properties", {{"from", {{"const", from}}}}}, {"required", {"from"}}}},
           {"then", {{"properties", {{"with", action_with(*takes)}}}, {"required", {"with"}}}}});
  if (!per_source.empty()) target["allOf"] = per_source;
  json fallback = closed_object(detail::kFallbackKeys,
                                {{"plan", {{"type", "string"}, {"minLength", 1}}},
                                 {"when", {{"type", "array"}, {"minItems", 1}, {"uniqueItems", true},
                                           {"items", {{"enum", detail::kFallbackWhen}}}}},
                                 {"target", {{"type", "string"}, {"minLength", 1}}},
                                 {"note", {{"type", "string"}}}});
  fallback["required"] = {"plan", "when"};
  // A notify entry names one of the notify actions; its `with` is that action's.
  json notify_actions = json::array(), notify_checks = json::array();
  for (const auto& name : catalog.names())
    if (name.starts_with("notify.")) {
      notify_actions.push_back(name);
      notify_checks.push_back({{"if", {{"properties", {{"action", {{"const", name}}}}}, {"required", {"action"}}}},
                               {"then", {{"properties", {{"with", {{"$ref", "#/$defs/with/" + name}}}}}}}});
    }
  json notify = closed_object(detail::kNotifyKeys, {{"action", {{"enum", notify_actions}}},
                                                    {"with", {{"type", "object"}}}});
  notify["required"] = {"action"};
  notify["allOf"] = notify_checks;
  json offsite = closed_object(detail::kOffsiteKeys,
                               {{"remote", {{"type", "string"}, {"minLength", 1}}},
                                {"keep", {{"type", "integer"}, {"minimum", 1}}},
                                {"env", {{"type", "object"},
                                         {"propertyNames", {{"pattern", "^RCLONE_[A-Z0-9_]+$"}}},
                                         {"additionalProperties", {{"type", "string"}}}}}});
  offsite["required"] = {"remote"};
  json secret = closed_object({"env", "file"}, {{"env", {{"type", "string"}}}, {"file", {{"type", "string"}}}});
  json properties = {
      {"version", {{"enum", {1, "1"}}}},
      {"name", {{"type", "string"}, {"minLength", 1}}},
      {"description", {{"type", "string"}}},
      {"kind", {{"enum", detail::kKinds}}},
      {"budget", {{"type", json::array({"string", "number"})}}},
      {"vars", {{"type", "object"}}},
      {"secrets", {{"type", "object"}, {"additionalProperties", secret}}},
      {"target", target},
      {"steps", {{"type", "array"}, {"minItems", 1},
                 {"items", {{"anyOf", {{{"$ref", "#/$defs/step"}}, {{"$ref", "#/$defs/group"}}}}}}}},
      {"criteria", {{"type", "object"}}},
      {"monitor", {{"type", "object"}}},
      {"fallback", fallback},
      {"offsite", offsite},
      {"notify", {{"type", "array"}, {"items", notify}}},
      {"report", closed_object(detail::kReportKeys)},
  };
  json plan = closed_object(detail::kTopKeys, properties);
  plan["patternProperties"] = {{"^x-", json::object()}};  // anchors' home, as in Compose
  plan["required"] = {"version", "name", "steps"};
  plan["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  plan["$id"] = "https://rollback.invalid/plan.schema.json";
  plan["title"] = "rollback plan";
  plan["description"] = "A rollback plan (docs/plan-format.md). Generated by `rollback schema` from the loader and "
                        "the action registry.";
  plan["$defs"] = {{"step", step_schema(catalog)}, {"group", group}, {"with", with_defs}};
  return plan;
}

}  // namespace rollback::plan
