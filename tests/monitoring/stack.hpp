// One real Prometheus (Debian's 2.42) and one real Alertmanager (0.25), started once for
// every test of tests/monitoring and for bench/probes, on loopback ports, with a temp
// config and data dir, scraping three small in-process exporters every second:
//   steady   always healthy (code="200" only)
//   flaky    healthy until a test calls fail(): then mostly 500s
//   webhooks failing from the start; the rule WebhookErrors (for: 1s, env="staging") fires
// Stopped (TERM, then KILL) when the process ends, and sent TERM if it dies. The binaries
// are Debian's (/usr/bin/prometheus, /usr/bin/prometheus-alertmanager) unless
// ROLLBACK_PROMETHEUS / ROLLBACK_ALERTMANAGER name others. Missing ones skip the tests, or
// fail them under ROLLBACK_REQUIRE_SERVICES=1 (testing::skip).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace monitoring_test {

// /metrics as an instrumented API exposes them: http_requests_total{code} and a latency
// histogram. Every scrape adds requests, so rate() is defined from the second scrape on.
class Exporter {
 public:
  explicit Exporter(bool failing);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  int port() const { return port_; }
  void fail() { failing_ = true; }
  int scrapes() const { return scrapes_.load(); }

 private:
  std::string metrics();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> failing_;
  std::atomic<int> scrapes_{0};
  long long ok_ = 0, errors_ = 0;
};

class Stack {
 public:
  // Started on first use (about 3 s: both servers ready, every job scraped twice).
  static Stack& shared();
  ~Stack();
  std::string prometheus_url() const;  // http://127.0.0.1:PORT
  std::string alertmanager_url() const;
  Exporter& flaky() { return *exporters_.at("flaky"); }
  // GET/POST against either server; the body, or "" when it did not answer 2xx.
  std::string get(const std::string& url) const;
  std::string post_json(const std::string& url, const std::string& body) const;

 private:
  Stack();
  void start();
  void stop();
  std::filesystem::path dir_;
  int prometheus_port_ = 0, alertmanager_port_ = 0;
  pid_t prometheus_ = -1, alertmanager_ = -1;
  std::map<std::string, std::unique_ptr<Exporter>> exporters_;
};

// A second Prometheus of its own (scraping itself), for the test that stops one: the shared
// one must stay up for the others. Ready on return; stop() ends it (so does the destructor).
class LonePrometheus {
 public:
  LonePrometheus();
  ~LonePrometheus();
  LonePrometheus(const LonePrometheus&) = delete;
  LonePrometheus& operator=(const LonePrometheus&) = delete;
  std::string url() const;
  void stop();

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// An ISO UTC time `from_now` (a silence's startsAt / endsAt).
std::string iso_in(std::chrono::seconds from_now);

}  // namespace monitoring_test
