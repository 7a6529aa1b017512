// In-process HTTP servers for tests (cpp-httplib on 127.0.0.1, a free port, its own thread;
// stopped by the destructor). Every path and method gets the same behaviour, so a test
// only picks one:
//   auto server = testing::HttpServer::healthy();       // 200 "ok"
//   auto server = testing::HttpServer::slow(200ms);      // 200 after a delay
//   auto server = testing::HttpServer::failing();        // 500 "internal error"
//   auto server = testing::HttpServer::healthy_after(2s); // 503 until then, 200 after
//   auto server = testing::HttpServer::json();           // {"version":"1.4.2","status":"ok"}
//   auto server = testing::HttpServer::requires_header("apikey", "s3cret"); // else 401
//   probe(server->url("/health"));
// Handles up to 128 concurrent requests (parallel-probe tests need more than httplib's 8).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace testing {

struct HttpBehaviour {
  int status = 200;
  std::string body = "ok";
  std::string content_type = "text/plain";
  std::chrono::milliseconds latency{0};                  // delay before answering
  std::chrono::milliseconds unhealthy_for{0};            // 503 until this long after start
  std::string required_header, required_value;           // 401 unless the header has this value
};

class HttpServer {
 public:
  explicit HttpServer(HttpBehaviour behaviour);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  static std::unique_ptr<HttpServer> healthy();
  static std::unique_ptr<HttpServer> slow(std::chrono::milliseconds latency);
  static std::unique_ptr<HttpServer> failing();
  static std::unique_ptr<HttpServer> healthy_after(std::chrono::milliseconds delay);
  static std::unique_ptr<HttpServer> json(std::string body = R"({"version":"1.4.2","status":"ok"})");
  static std::unique_ptr<HttpServer> requires_header(std::string name, std::string value);

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;  // "http://127.0.0.1:PORT/path"
  int requests() const { return requests_.load(); }       // how many were answered
  int received() const { return received_.load(); }       // how many arrived (answered or not yet)
  std::string last_body() const;                          // body of the last request
  std::string last_header(const std::string& name) const; // a header of the last request
  // The next `count` requests answer only after `latency` (a TTFB criterion that must fail
  // once, while the probes after it pass).
  void delay_next(int count, std::chrono::milliseconds latency) {
    slow_latency_ms_ = latency.count();
    slow_left_ = count;
  }

 private:
  HttpBehaviour behaviour_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::atomic<int> requests_{0};
  std::atomic<int> received_{0};
  std::atomic<int> slow_left_{0};
  std::atomic<long long> slow_latency_ms_{0};
  mutable std::mutex mutex_;
  std::string last_body_;
  std::multimap<std::string, std::string> last_headers_;
};

// A port on 127.0.0.1 where nothing listens (bound then closed), for refused connections.
// A port below Linux's ephemeral range (32768-60999), free on every address right now: for
// a container to publish later. An ephemeral port, free now, is soon some client's source port.
int unused_publish_port();
int unused_port();

}  // namespace testing
