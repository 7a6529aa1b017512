#include "support/http_servers.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace testing {

HttpServer::HttpServer(HttpBehaviour behaviour)
    : behaviour_(std::move(behaviour)), server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(128); };
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    ++received_;
    {
      std::lock_guard lock(mutex_);
      last_body_ = req.body;
      last_headers_ = {req.headers.begin(), req.headers.end()};
    }
    if (behaviour_.latency.count() > 0) std::this_thread::sleep_for(behaviour_.latency);
    if (slow_left_.fetch_sub(1) > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_latency_ms_.load()));
    if (std::chrono::steady_clock::now() - started_ < behaviour_.unhealthy_for) {
      res.status = 503;
      res.set_content("starting up", "text/plain");
    } else if (!behaviour_.required_header.empty() &&
               req.get_header_value(behaviour_.required_header) != behaviour_.required_value) {
      res.status = 401;
      res.set_content("missing or wrong " + behaviour_.required_header, "text/plain");
    } else {
      res.status = behaviour_.status;
      res.set_content(behaviour_.body, behaviour_.content_type.c_str());
    }
    ++requests_;
  };
  const std::string any = ".*";
  server_->Get(any, handler);
  server_->Post(any, handler);
  server_->Put(any, handler);
  server_->Patch(any, handler);
  server_->Delete(any, handler);
  server_->Options(any, handler);
  // Debian's libcpp-httplib listens with a backlog of 5, which stalls connections when 100
  // probes connect at once: keep the listening socket and listen() again with room for all.
  int listen_fd = -1;
  server_->set_socket_options([&listen_fd](socket_t fd) {
    httplib::default_socket_options(fd);
    listen_fd = fd;
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0 || listen_fd < 0) throw std::runtime_error("test HTTP server: cannot bind 127.0.0.1");
  ::listen(listen_fd, 512);
  started_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // listen_after_bind is running once is_running() is true: wait, so the first probe connects.
  for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

HttpServer::~HttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<HttpServer> HttpServer::healthy() { return std::make_unique<HttpServer>(HttpBehaviour{}); }

std::unique_ptr<HttpServer> HttpServer::slow(std::chrono::milliseconds latency) {
  HttpBehaviour b;
  b.latency = latency;
  return std::make_unique<HttpServer>(b);
}

std::unique_ptr<HttpServer> HttpServer::failing() {
  HttpBehaviour b;
  b.status = 500;
  b.body = "internal error";
  return std::make_unique<HttpServer>(b);
}

std::unique_ptr<HttpServer> HttpServer::healthy_after(std::chrono::milliseconds delay) {
  HttpBehaviour b;
  b.unhealthy_for = delay;
  return std::make_unique<HttpServer>(b);
}

std::unique_ptr<HttpServer> HttpServer::json(std::string body) {
  HttpBehaviour b;
  b.body = std::move(body);
  b.content_type = "application/json";
  return std::make_unique<HttpServer>(b);
}

std::unique_ptr<HttpServer> HttpServer::requires_header(std::string name, std::string value) {
  HttpBehaviour b;
  b.required_header = std::move(name);
  b.required_value = std::move(value);
  return std::make_unique<HttpServer>(b);
}

std::string HttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string HttpServer::last_body() const {
  std::lock_guard lock(mutex_);
  return last_body_;
}

std::string HttpServer::last_header(const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& [k, v] : last_headers_) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return {};
}

int unused_publish_port() {
  static std::mt19937 pick(std::random_device{}());
  for (int tries = 0; tries < 200; ++tries) {
    int port = 20000 + static_cast<int>(pick() % 12000);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return port;
  }
  throw std::runtime_error("no free port in 20000-31999");
}

int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace testing
