// prometheus.query's own cost over a bare curl of the same query, measured side by side
// against one real Prometheus (the test stack of tests/monitoring). Interleaved rounds of:
//   curl      the curl command: curl -s -G --data-urlencode query=Q URL/api/v1/query
//   check     rollback check on a plan whose one criterion is that query (a cron run)
//   libcurl   one bare libcurl GET of the same URL, in process
//   probe     the prometheus.query action, in process (request + JSON + judging)
// The probe's overhead is probe - libcurl (same transfer, plus what the action adds); the
// commands' is check - curl (plus process start, plan load, criteria.json under its lock).
// Usage: bench_probes [ROUNDS=40] [TARGET_MS=5]. Exits 0 when the probe's median overhead is
// under TARGET_MS.
// The test stack's helpers live beside Catch2's (testing::skip, write_text): its runner is
// compiled in here, without its main.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

#include <rollback/actions/http.hpp>
#include <rollback/actions/monitoring.hpp>

#include "monitoring/stack.hpp"
#include "support/temp_dir.hpp"

using namespace rollback;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kQuery =
    R"(sum(rate(http_requests_total{job="steady",code=~"5.."}[30s])) / sum(rate(http_requests_total{job="steady"}[30s])))";

double time_ms(const std::function<void()>& f) {
  auto start = Clock::now();
  f();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

size_t discard(char*, size_t size, size_t count, void*) {
  return size * count;
}

void bare_libcurl(const std::string& url) {
  CURL* easy = curl_easy_init();
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_perform(easy);
  curl_easy_cleanup(easy);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 40;
  double target_ms = argc > 2 ? std::atof(argv[2]) : 5.0;
  auto& stack = monitoring_test::Stack::shared();
  auto base = stack.prometheus_url();
  auto url = base + "/api/v1/query?query=" + actions::http::url_escape(kQuery);

  char pattern[] = "/tmp/rollback-bench-probes.XXXXXX";
  if (!::mkdtemp(pattern)) return 2;
  std::filesystem::path dir = pattern;
  testing::write_text(dir / "plan.yaml", fmt::format(R"(version: 1
name: bench-probe
criteria:
  critical:
    - name: error ratio
      probe: {{action: prometheus.query, with: {{url: "{}", query: '{}', expect: "<= 0.5"}}}}
steps:
  - {{id: noop, action: wait.sleep, with: {{duration: 0s}}}}
)",
                                                     base, kQuery));
  proc::SystemRunner runner;
  actions::ActionContext ctx{"bench", runner, [](const std::string&, const std::string&) {},
                             [](std::string_view) {}};
  auto action = actions::monitoring::prometheus_query_action();
  actions::Params params(nlohmann::json{{"url", base}, {"query", kQuery}, {"expect", "<= 0.5"}});
  std::vector<std::string> curl_argv = {"curl",
                                        "-s",
                                        "-o",
                                        "/dev/null",
                                        "-G",
                                        "--data-urlencode",
                                        "query=" + kQuery,
                                        base + "/api/v1/query"};
  std::vector<std::string> check_argv = {ROLLBACK_BINARY, "--state-dir", (dir / "state").string(),
                                         "check", (dir / "plan.yaml").string()};

  std::vector<double> curl_ms, check_ms, libcurl_ms, probe_ms;
  bool all_ok = true;
  for (int i = 0; i < rounds + 3; ++i) {  // 3 warm-up rounds, not counted
    double c = time_ms([&] { testing::run_program(curl_argv); });
    double k = time_ms([&] { all_ok = testing::run_program(check_argv).exit_code == 0 && all_ok; });
    double l = time_ms([&] { bare_libcurl(url); });
    actions::Outcome out;
    double p = time_ms([&] { out = action.run(ctx, params); });
    all_ok = all_ok && out.ok;
    if (i < 3) continue;
    curl_ms.push_back(c);
    check_ms.push_back(k);
    libcurl_ms.push_back(l);
    probe_ms.push_back(p);
  }
  double curl = median(curl_ms), check = median(check_ms), bare = median(libcurl_ms),
         probe = median(probe_ms);
  std::printf("%d rounds against Prometheus at %s, medians:\n", rounds, base.c_str());
  std::printf(
      "  curl command        %7.2f ms\n  rollback check      %7.2f ms   (%.2fx curl, %+.2f ms)\n",
      curl, check, check / curl, check - curl);
  std::printf(
      "  bare libcurl GET    %7.2f ms\n  prometheus.query    %7.2f ms   (%.2fx bare libcurl, %+.2f ms)\n",
      bare, probe, probe / bare, probe - bare);
  bool within = probe - bare < target_ms;
  std::printf("probe overhead over a bare curl of the same query: %+.2f ms (target < %.1f ms): %s\n",
              probe - bare, target_ms, within && all_ok ? "PASS" : "FAIL");
  std::filesystem::remove_all(dir);
  return within && all_ok ? 0 : 1;
}
