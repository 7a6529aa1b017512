#include "monitoring/stack.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <vector>

#include <rollback/util/time.hpp>

#include "support/child_process.hpp"
#include "support/http_servers.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace monitoring_test {

Exporter::Exporter(bool failing) : server_(std::make_unique<httplib::Server>()), failing_(failing) {
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics(), "text/plain; version=0.0.4");
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("exporter: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(2ms);
}

Exporter::~Exporter() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Exporter::metrics() {
  // Scrapes come one at a time (one Prometheus, 1 s apart): no lock needed for the counts.
  if (failing_) {
    ok_ += 1;
    errors_ += 100;
  } else {
    ok_ += 10;
  }
  ++scrapes_;
  return fmt::format(R"(# HELP http_requests_total Requests answered, by status code.
# TYPE http_requests_total counter
http_requests_total{{code="200"}} {0}
http_requests_total{{code="500"}} {1}
# HELP http_request_duration_seconds Request latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{le="0.1"}} {0}
http_request_duration_seconds_bucket{{le="1"}} {2}
http_request_duration_seconds_bucket{{le="10"}} {2}
http_request_duration_seconds_bucket{{le="+Inf"}} {2}
http_request_duration_seconds_sum {3}
http_request_duration_seconds_count {2}
)",
                     ok_, errors_, ok_ + errors_,
                     0.05 * static_cast<double>(ok_) + 0.5 * static_cast<double>(errors_));
}

namespace {

using testing::find_binary;
using testing::spawn_child;

pid_t spawn(const std::vector<std::string>& args, const fs::path& log) { return spawn_child(args, log); }
void terminate(pid_t& pid) { testing::end_child(pid); }

std::string get_from(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto res = client.Get(path);
  return res && res->status / 100 == 2 ? res->body : std::string();
}

void dump_log(const fs::path& log) {
  std::cerr << "---- " << log.filename().string() << " ----\n" << testing::read_text(log) << "\n";
}

}  // namespace

Stack& Stack::shared() {
  static Stack stack;
  return stack;
}

Stack::Stack() {
  start();
}

Stack::~Stack() {
  stop();
}

std::string Stack::prometheus_url() const {
  return fmt::format("http://127.0.0.1:{}", prometheus_port_);
}
std::string Stack::alertmanager_url() const {
  return fmt::format("http://127.0.0.1:{}", alertmanager_port_);
}

std::string Stack::get(const std::string& url) const {
  auto port = url.starts_with(alertmanager_url()) ? alertmanager_port_ : prometheus_port_;
  auto base = port == alertmanager_port_ ? alertmanager_url() : prometheus_url();
  return get_from(port, url.substr(base.size()));
}

std::string Stack::post_json(const std::string& url, const std::string& body) const {
  auto port = url.starts_with(alertmanager_url()) ? alertmanager_port_ : prometheus_port_;
  auto base = port == alertmanager_port_ ? alertmanager_url() : prometheus_url();
  httplib::Client client("127.0.0.1", port);
  auto res = client.Post(url.substr(base.size()), body, "application/json");
  return res && res->status / 100 == 2 ? res->body : std::string();
}

void Stack::start() {
  auto prometheus = find_binary("ROLLBACK_PROMETHEUS", {"prometheus"});
  auto alertmanager =
      find_binary("ROLLBACK_ALERTMANAGER", {"prometheus-alertmanager", "alertmanager"});
  if (prometheus.empty() || alertmanager.empty())
    testing::skip(
        "Prometheus and Alertmanager are needed (Debian: prometheus, prometheus-alertmanager; "
        "scripts/setup)");
  char pattern[] = "/tmp/rollback-monitoring.XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  exporters_["steady"] = std::make_unique<Exporter>(false);
  exporters_["flaky"] = std::make_unique<Exporter>(false);
  exporters_["webhooks"] = std::make_unique<Exporter>(true);
  prometheus_port_ = testing::unused_publish_port();
  alertmanager_port_ = testing::unused_publish_port();
  while (alertmanager_port_ == prometheus_port_)
    alertmanager_port_ = testing::unused_publish_port();

  std::string jobs;
  for (const auto& [job, exporter] : exporters_)
    jobs += fmt::format("  - job_name: {}\n    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
                        job, exporter->port());
  testing::write_text(
      dir_ / "prometheus.yml",
      fmt::format(
          "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n"
          "rule_files: [rules.yml]\n"
          "alerting:\n  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{}']}}]}}]\n"
          "scrape_configs:\n{}",
          alertmanager_port_, jobs));
  testing::write_text(dir_ / "rules.yml", R"(groups:
  - name: webhooks
    rules:
      - alert: WebhookErrors
        expr: sum(rate(http_requests_total{job="webhooks",code=~"5.."}[10s])) > 0
        for: 1s
        labels: {env: staging, severity: page}
)");
  testing::write_text(dir_ / "alertmanager.yml",
                      "route: {receiver: nobody}\nreceivers: [{name: nobody}]\n");
  // No cluster listener: Alertmanager's default (:9094) is one port for every instance on
  // the machine, and two test runs at once must not meet there.
  alertmanager_ = spawn({alertmanager, "--config.file=" + (dir_ / "alertmanager.yml").string(),
                         "--storage.path=" + (dir_ / "am-data").string(),
                         fmt::format("--web.listen-address=127.0.0.1:{}", alertmanager_port_),
                         "--cluster.listen-address="},
                        dir_ / "alertmanager.log");
  prometheus_ = spawn({prometheus, "--config.file=" + (dir_ / "prometheus.yml").string(),
                       "--storage.tsdb.path=" + (dir_ / "prom-data").string(),
                       fmt::format("--web.listen-address=127.0.0.1:{}", prometheus_port_)},
                      dir_ / "prometheus.log");
  if (prometheus_ <= 0 || alertmanager_ <= 0)
    throw std::runtime_error("cannot start prometheus or alertmanager");
  // Ready once both answer and every job has two samples (rate() needs two).
  auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until) {
    bool ready = !get_from(alertmanager_port_, "/-/ready").empty() &&
                 get_from(prometheus_port_,
                          "/api/v1/query?query=count(count_over_time(up%5B1m%5D)%20%3E%3D%202)")
                         .find("\"3\"") != std::string::npos;
    if (ready) return;
    std::this_thread::sleep_for(200ms);
  }
  dump_log(dir_ / "prometheus.log");
  dump_log(dir_ / "alertmanager.log");
  stop();
  throw std::runtime_error("Prometheus or Alertmanager not ready within 60 s");
}

void Stack::stop() {
  terminate(prometheus_);
  terminate(alertmanager_);
  exporters_.clear();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

LonePrometheus::LonePrometheus() {
  Stack::shared();  // skips (or fails) the same way when the binaries are missing
  char pattern[] = "/tmp/rollback-lone-prometheus.XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  port_ = testing::unused_publish_port();
  testing::write_text(
      dir_ / "prometheus.yml",
      fmt::format("global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: self\n"
                  "    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
                  port_));
  auto prometheus = find_binary("ROLLBACK_PROMETHEUS", {"prometheus"});
  pid_ = spawn({prometheus, "--config.file=" + (dir_ / "prometheus.yml").string(),
                "--storage.tsdb.path=" + (dir_ / "data").string(),
                fmt::format("--web.listen-address=127.0.0.1:{}", port_)},
               dir_ / "prometheus.log");
  auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until) {
    if (get_from(port_, "/api/v1/query?query=up").find("\"1\"") != std::string::npos) return;
    std::this_thread::sleep_for(200ms);
  }
  dump_log(dir_ / "prometheus.log");
  stop();
  throw std::runtime_error("the lone Prometheus did not scrape itself within 60 s");
}

LonePrometheus::~LonePrometheus() {
  stop();
}

std::string LonePrometheus::url() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

void LonePrometheus::stop() {
  terminate(pid_);
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

std::string iso_in(std::chrono::seconds from_now) {
  return rollback::format_iso_utc(std::chrono::system_clock::now() + from_now);
}

}  // namespace monitoring_test
