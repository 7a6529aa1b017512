#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <rollback/engine/signals.hpp>

#include "test_engine_fixtures.hpp"

using namespace engine_test;

TEST_CASE("SIGTERM during a step stops its child and the run ends interrupted with 130") {
  reset();
  rollback::engine::SignalGuard guard;
  auto registry = test_registry();
  rollback::proc::SystemRunner runner;
  rollback::engine::Executor executor(registry, runner);
  rollback::plan::Scope scope;
  rollback::engine::RunRecord record;
  std::thread killer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(::getpid(), SIGTERM);
  });
  auto started = Clock::now();
  auto code = executor.execute(
      make_plan({step("sleep", "test.child", "{argv: [sleep, 30], grace: 200ms}"),
                 step("next", "test.record")}),
      scope, record, nullptr, {});
  killer.join();
  CHECK(code == rollback::ExitCode::Interrupted);
  CHECK(Clock::now() - started < std::chrono::seconds(3));
  CHECK(record.steps[0].status == rollback::engine::StepStatus::Interrupted);
  CHECK(record.steps[1].status == rollback::engine::StepStatus::Pending);
  CHECK(calls().ran.empty());
  rollback::proc::reset_cancel();
}

TEST_CASE("the first SIGINT requests a cancel and leaves the next one to the default action") {
  reset();
  rollback::engine::SignalGuard guard;
  ::raise(SIGINT);
  CHECK(rollback::proc::cancel_requested());
  struct sigaction now{};
  ::sigaction(SIGINT, nullptr, &now);
  CHECK(now.sa_handler == SIG_DFL);
  rollback::proc::reset_cancel();
}
