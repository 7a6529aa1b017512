// Prints the per-action reference of docs/actions.md from the action registry: every action
// with its summary, behaviours and a table of its parameters (type, required, values, what
// it does). scripts/actions-doc splices it into docs/actions.md below the marker line, and
// tests/tools/actions_doc_current.sh fails when the committed page differs.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include <rollback/actions/action.hpp>

namespace {

using rollback::plan::ParamType;

const char* type_name(ParamType type) {
  switch (type) {
    case ParamType::String: return "text";
    case ParamType::Int: return "number";
    case ParamType::Bool: return "bool";
    case ParamType::Duration: return "duration";
    case ParamType::StringList: return "list";
    case ParamType::StringMap: return "map";
    case ParamType::Any: return "any";
  }
  return "any";
}

std::string cell(const std::string& text) {  // a table cell: no pipe ends it, no <x> is taken for HTML
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

}  // namespace

int main() {
  for (const auto* action : rollback::actions::builtin_registry().all()) {
    std::string traits;
    auto add = [&](bool on, const char* name) { if (on) traits += (traits.empty() ? "" : " ") + std::string(name); };
    add(action->destructive, "destructive");
    add(action->read_only, "read-only");
    add(!action->read_only_param.empty(), ("read-only with `" + action->read_only_param + ": true`").c_str());
    add(action->rerun_safe, "rerun-safe");
    add(static_cast<bool>(action->preflight), "preflight");
    add(static_cast<bool>(action->rehearse), "rehearsable");
    std::printf("## `%s`\n\n%s.%s\n\n", action->name.c_str(), action->summary.c_str(),
                traits.empty() ? "" : fmt::format(" _({})_", traits).c_str());
    if (action->params.empty()) {
      std::printf("No parameters.\n\n");
      continue;
    }
    std::printf("| parameter | type | required | values | what it does |\n|---|---|---|---|---|\n");
    for (const auto& p : action->params) {
      std::string values;
      for (const auto& choice : p.choices) values += (values.empty() ? "" : ", ") + choice;
      if (p.sets_var) values = "a var name";
      std::printf("| `%s` | %s | %s | %s | %s |\n", p.name.c_str(), type_name(p.type), p.required ? "yes" : "",
                  cell(values).c_str(), cell(p.doc).c_str());
    }
    std::printf("\n");
  }
  return 0;
}
