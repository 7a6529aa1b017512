// What the coolify.rollback tests share (test_coolify_rollback.cpp, test_coolify_unknown.cpp):
// a deployment history for the fake Coolify (tests/support/fake_coolify.hpp), an action context
// and the step's parameters.
#pragma once

#include <catch2/catch.hpp>

#include <map>

#include <rollback/actions/coolify.hpp>
#include <rollback/proc/runner.hpp>

#include "support/fake_coolify.hpp"

namespace coolify_test {

using namespace std::chrono_literals;
using nlohmann::json;
using rollback::actions::ActionContext;
using rollback::actions::Params;
using testing::FakeCoolify;
using testing::FakeDeployment;

inline const std::string kToken = "fake-token-s3cr3t";
inline const std::string c1 = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
inline const std::string c2 = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
inline const std::string c3 = "3333333ccccccccccccccccccccccccccccccccc";
inline const std::string c4 = "4444444ddddddddddddddddddddddddddddddddd";
inline const std::string c5 = "5555555eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

// Newest first: a failed deploy on top of the current one; the last good one further down,
// behind a same-commit redeploy, a cancelled and a failed deployment.
inline std::vector<FakeDeployment> history() {
  return {{"dep-5", c5, "broken extraction", "failed"},
          {"dep-4", c4, "new prompt", "finished"},
          {"dep-3b", c4, "new prompt", "finished"},
          {"dep-3", c3, "half done", "cancelled-by-user"},
          {"dep-2", c2, "typo", "failed"},
          {"dep-1", c1, "stable", "finished"}};
}

struct Ctx {
  rollback::proc::SystemRunner runner;
  std::map<std::string, std::string> vars;
  std::vector<std::string> logs;
  ActionContext ctx{"coolify", runner, [this](const std::string& k, const std::string& v) { vars[k] = v; },
                    [this](std::string_view l) { logs.emplace_back(l); }};
};

inline const rollback::actions::Action& action() {
  static auto a = rollback::actions::coolify::rollback_action();
  return a;
}

inline Params params(const FakeCoolify& fake, json extra = json::object()) {
  json p{{"url", fake.url()}, {"token", kToken}, {"application", FakeCoolify::kApp}, {"poll", "50ms"}, {"wait", "10s"}};
  for (auto& [k, v] : extra.items()) p[k] = v;
  return Params(p);
}

inline bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace coolify_test
