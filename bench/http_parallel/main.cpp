// http.probe with `urls` + `parallel: true`: N probes against a server that answers after a
// fixed latency should take about one latency, not N of them (all share one curl multi
// handle). Usage: bench_http_parallel [COUNT=100] [LATENCY_MS=200] [TARGET_MS=600]
// Exits 0 when every probe passed within the target, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <rollback/actions/http.hpp>

#include "support/http_servers.hpp"

using namespace rollback;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 100;
  int latency_ms = argc > 2 ? std::atoi(argv[2]) : 200;
  int target_ms = argc > 3 ? std::atoi(argv[3]) : 600;
  auto server = testing::HttpServer::slow(std::chrono::milliseconds(latency_ms));

  nlohmann::json urls = nlohmann::json::array();
  for (int i = 0; i < count; ++i) urls.push_back(server->url("/health?probe=" + std::to_string(i)));
  actions::Params params(nlohmann::json{{"urls", urls}, {"parallel", true}, {"expect_status", 200}});

  proc::SystemRunner runner;
  actions::ActionContext ctx{"bench", runner, [](const std::string&, const std::string&) {},
                             [](std::string_view) {}};
  auto start = Clock::now();
  auto out = actions::http::probe_action().run(ctx, params);
  auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::printf("%d parallel probes, server latency %d ms: %.3f s (target < %.3f s, sequential ~%.1f s)\n",
              count, latency_ms, elapsed, target_ms / 1000.0, count * latency_ms / 1000.0);
  std::printf("result: %s\n", out.message.c_str());
  bool within = elapsed * 1000 < target_ms;
  std::printf("%s\n", out.ok && within ? "PASS" : "FAIL");
  return out.ok && within ? 0 : 1;
}
