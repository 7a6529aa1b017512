#include "support/fake_coolify.hpp"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <stdexcept>

namespace testing {

using nlohmann::json;

struct FakeCoolify::State {
  mutable std::mutex mutex;
  std::string token;
  std::string app;
  std::string version = "4.3.10";
  std::vector<FakeDeployment> deployments;  // newest first
  std::vector<std::pair<std::string, std::chrono::milliseconds>> stages{{"finished", std::chrono::milliseconds(0)}};
  std::string new_logs;
  bool rollback_endpoint = true;
  bool bare_array = false;
  int rate_limited = 0;
  int retry_after = 1;
  int next_id = 1000;
  std::string app_commit;
  std::vector<RecordedRequest> requests;
  std::map<std::string, FakeFault> faults;
  std::string database, backup;
  std::vector<FakeExecution> executions;
  std::condition_variable stop_cv;  // ends a stalled answer when the fake stops
  bool stopping = false;

  FakeFault fault(const std::string& route) const {
    auto it = faults.find(route);
    return it == faults.end() ? FakeFault{} : it->second;
  }

  // The answer to a change route: `status` and `body`, unless a fault says otherwise. A stall
  // waits without the lock, so the rest of the API keeps answering meanwhile.
  void answer(std::unique_lock<std::mutex>& lock, httplib::Response& res, const FakeFault& f,
              int status, const json& body) {
    if (f.stall.count() > 0) stop_cv.wait_for(lock, f.stall, [this] { return stopping; });
    res.status = f.status ? f.status : status;
    if (!f.body.empty()) return res.set_content(f.body, "application/json");
    res.set_content(f.status ? json{{"message", "Server Error"}}.dump() : body.dump(),
                    "application/json");
  }

  // The status a scripted deployment has now.
  std::string status_of(const FakeDeployment& d) const {
    if (d.stages.empty()) return d.status;
    auto elapsed = std::chrono::steady_clock::now() - d.queued_at;
    std::chrono::milliseconds at(0);
    for (const auto& [status, lasts] : d.stages) {
      at += lasts;
      if (elapsed < at) return status;
    }
    return d.stages.back().first;
  }

  json to_json(const FakeDeployment& d, int id) const {
    return json{{"id", id},
                {"application_id", 1},
                {"deployment_uuid", d.uuid},
                {"pull_request_id", 0},
                {"force_rebuild", false},
                {"commit", d.commit},
                {"commit_message", d.commit_message},
                {"status", status_of(d)},
                {"is_webhook", false},
                {"is_api", true},
                {"created_at", d.created_at},
                {"updated_at", d.created_at},
                {"logs", d.logs.empty() ? json(nullptr) : json(d.logs)},
                {"restart_only", false},
                {"git_type", "github"},
                {"server_id", 0},
                {"server_name", "localhost"},
                {"application_name", "asistente-andrea"},
                {"deployment_url", "/project/x/deployment/" + d.uuid},
                {"rollback", d.rollback}};
  }

  // Queues a deployment of `commit` the way Coolify's queue does.
  std::string queue(const std::string& commit, bool rollback) {
    FakeDeployment d;
    d.uuid = "dep-new-" + std::to_string(next_id++);
    d.commit = commit;
    d.commit_message = "redeploy";
    d.rollback = rollback;
    d.created_at = "2026-11-23T00:00:00.000000Z";
    d.stages = stages;
    d.logs = new_logs;
    d.queued_at = std::chrono::steady_clock::now();
    d.status = stages.empty() ? "finished" : stages.front().first;
    deployments.insert(deployments.begin(), d);
    return d.uuid;
  }
};

namespace {

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

FakeCoolify::FakeCoolify(std::string token, std::string app_uuid)
    : server_(std::make_unique<httplib::Server>()), state_(std::make_unique<State>()) {
  state_->token = std::move(token);
  state_->app = std::move(app_uuid);
  install_routes();
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake Coolify: cannot bind a port");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

FakeCoolify::~FakeCoolify() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->stop_cv.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeCoolify::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeCoolify::install_routes() {
  auto& s = *state_;
  auto& svr = *server_;
  // Record, rate-limit and authenticate before routing, as Coolify's middleware does.
  svr.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(s.mutex);
    RecordedRequest r{req.method, req.path, {}, req.get_header_value("Authorization"), req.body};
    for (const auto& [k, v] : req.params) r.query[k] = v;
    s.requests.push_back(r);
    if (req.path == "/api/health" || req.path == "/api/v1/health") {
      res.set_content("OK", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (s.rate_limited > 0) {
      --s.rate_limited;
      res.set_header("Retry-After", std::to_string(s.retry_after));
      reply(res, 429, {{"message", "Too Many Attempts."}});
      return httplib::Server::HandlerResponse::Handled;
    }
    auto auth = req.get_header_value("Authorization");
    if (auth == "Bearer invalid-team") {
      reply(res, 400, {{"message", "Invalid token."}, {"docs", "https://coolify.io/docs/api-reference/authorization"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (auth != "Bearer " + s.token) {
      reply(res, 401, {{"message", "Unauthenticated."}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  auto remember_body = [&s](const httplib::Request& req) {
    for (auto it = s.requests.rbegin(); it != s.requests.rend(); ++it) {
      if (it->method == req.method && it->path == req.path) {
        it->body = req.body;
        break;
      }
    }
  };

  svr.Get("/api/v1/version", [&s](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(s.mutex);
    res.set_content(s.version, "text/html");
  });

  svr.Get(R"(/api/v1/deployments/applications/([^/]+))", [&s](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(s.mutex);
    if (req.matches[1] != s.app) return reply(res, 404, {{"message", "Application not found."}});
    size_t skip = req.has_param("skip") ? std::stoul(req.get_param_value("skip")) : 0;
    size_t take = req.has_param("take") ? std::stoul(req.get_param_value("take")) : 10;
    json list = json::array();
    for (size_t i = skip; i < s.deployments.size() && i < skip + take; ++i) {
      list.push_back(s.to_json(s.deployments[i], static_cast<int>(s.deployments.size() - i)));
    }
    if (s.bare_array) return reply(res, 200, list);
    reply(res, 200, {{"count", s.deployments.size()}, {"deployments", list}});
  });

  // listExecutions: the database by uuid within the team, then its scheduled backup by uuid,
  // then {"executions": [...]} ordered by created_at desc with these six fields.
  svr.Get(R"(/api/v1/databases/([^/]+)/backups/([^/]+)/executions)",
          [&s](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(s.mutex);
            if (s.database.empty() || req.matches[1] != s.database)
              return reply(res, 404, {{"message", "Database not found."}});
            if (req.matches[2] != s.backup)
              return reply(res, 404, {{"message", "Backup configuration not found."}});
            auto sorted = s.executions;
            std::stable_sort(sorted.begin(), sorted.end(),
                             [](const FakeExecution& a, const FakeExecution& b) {
                               return a.created_at > b.created_at;
                             });
            json list = json::array();
            for (const auto& e : sorted)
              list.push_back({{"uuid", e.uuid},
                              {"filename", e.filename.empty() ? json(nullptr) : json(e.filename)},
                              {"size", e.size},
                              {"created_at", e.created_at},
                              {"message", e.message.empty() ? json(nullptr) : json(e.message)},
                              {"status", e.status}});
            reply(res, 200, {{"executions", list}});
          });

  svr.Get("/api/v1/deployments", [&s](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(s.mutex);
    json running = json::array();
    for (size_t i = 0; i < s.deployments.size(); ++i) {
      auto status = s.status_of(s.deployments[i]);
      if (status == "queued" || status == "in_progress") running.push_back(s.to_json(s.deployments[i], 1));
    }
    reply(res, 200, running);
  });

  svr.Get(R"(/api/v1/deployments/([^/]+))", [&s](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(s.mutex);
    for (size_t i = 0; i < s.deployments.size(); ++i) {
      if (s.deployments[i].uuid == req.matches[1]) {
        return reply(res, 200, s.to_json(s.deployments[i], static_cast<int>(s.deployments.size() - i)));
      }
    }
    reply(res, 404, {{"message", "Deployment not found."}});
  });

  svr.Post(R"(/api/v1/applications/([^/]+)/rollback)",
           [&s, remember_body](const httplib::Request& req, httplib::Response& res) {
             std::unique_lock lock(s.mutex);
             remember_body(req);
             if (!s.rollback_endpoint) return reply(res, 404, {{"message", "Not found."}});
             if (req.matches[1] != s.app)
               return reply(res, 404, {{"message", "Application not found."}});
             auto body = json::parse(req.body, nullptr, false);
             json errors = json::object();
             if (!body.is_object() || !body.contains("commit") || !body["commit"].is_string()) {
               errors["commit"] = {"The commit field is required."};
             }
             if (body.is_object()) {
               for (const auto& [k, v] : body.items()) {
                 if (k != "commit") errors[k] = {"This field is not allowed."};
               }
             }
             if (!errors.empty())
               return reply(res, 422, {{"message", "Validation failed."}, {"errors", errors}});
             auto fault = s.fault("rollback");
             auto uuid = fault.acts ? s.queue(body["commit"].get<std::string>(), true) : "";
             s.answer(lock, res, fault, 200,
                      {{"message", "Rollback deployment queued."}, {"deployment_uuid", uuid}});
           });

  svr.Patch(R"(/api/v1/applications/([^/]+))",
            [&s, remember_body](const httplib::Request& req, httplib::Response& res) {
              std::unique_lock lock(s.mutex);
              remember_body(req);
              if (req.matches[1] != s.app)
                return reply(res, 404, {{"message", "Application not found."}});
              auto body = json::parse(req.body, nullptr, false);
              auto fault = s.fault("patch");
              if (fault.acts && body.is_object() && body.contains("git_commit_sha"))
                s.app_commit = body["git_commit_sha"].get<std::string>();
              s.answer(lock, res, fault, 200, {{"uuid", s.app}});
            });

  svr.Post("/api/v1/deploy", [&s](const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(s.mutex);
    if (req.get_param_value("uuid") != s.app) {
      return reply(res, 404, {{"message", "No resources found."}});
    }
    auto fault = s.fault("deploy");
    auto uuid = fault.acts ? s.queue(s.app_commit.empty() ? "HEAD" : s.app_commit, false) : "";
    s.answer(lock, res, fault, 200,
             {{"deployments",
               json::array({{{"message", "Application asistente-andrea deployment queued."},
                             {"resource_uuid", s.app},
                             {"deployment_uuid", uuid}}})}});
  });

  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) reply(res, 404, {{"message", "Not found."}});
  });
}

void FakeCoolify::set_deployments(std::vector<FakeDeployment> newest_first) {
  std::lock_guard lock(state_->mutex);
  int minute = 59;
  for (auto& d : newest_first) {
    if (d.created_at.empty()) d.created_at = "2026-11-22T10:" + std::to_string(minute--) + ":00.000000Z";
  }
  state_->deployments = std::move(newest_first);
}

void FakeCoolify::set_new_deployment_stages(std::vector<std::pair<std::string, std::chrono::milliseconds>> stages,
                                            std::string logs) {
  std::lock_guard lock(state_->mutex);
  state_->stages = std::move(stages);
  state_->new_logs = std::move(logs);
}

void FakeCoolify::set_rollback_endpoint(bool present) {
  std::lock_guard lock(state_->mutex);
  state_->rollback_endpoint = present;
}

void FakeCoolify::rate_limit_first(int requests, int retry_after_seconds) {
  std::lock_guard lock(state_->mutex);
  state_->rate_limited = requests;
  state_->retry_after = retry_after_seconds;
}

void FakeCoolify::set_bare_array(bool bare) {
  std::lock_guard lock(state_->mutex);
  state_->bare_array = bare;
}

void FakeCoolify::set_version(std::string version) {
  std::lock_guard lock(state_->mutex);
  state_->version = std::move(version);
}

void FakeCoolify::set_fault(const std::string& route, FakeFault fault) {
  if (route != "rollback" && route != "patch" && route != "deploy")
    throw std::invalid_argument("fake Coolify: no change route " + route);
  std::lock_guard lock(state_->mutex);
  state_->faults[route] = std::move(fault);
}

std::vector<RecordedRequest> FakeCoolify::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::vector<FakeDeployment> FakeCoolify::deployments() const {
  std::lock_guard lock(state_->mutex);
  auto out = state_->deployments;
  for (auto& d : out) d.status = state_->status_of(d);
  return out;
}

std::string FakeCoolify::app_commit() const {
  std::lock_guard lock(state_->mutex);
  return state_->app_commit;
}

void FakeCoolify::set_backup(std::string database, std::string backup,
                             std::vector<FakeExecution> executions) {
  std::lock_guard lock(state_->mutex);
  state_->database = std::move(database);
  state_->backup = std::move(backup);
  state_->executions = std::move(executions);
}

}  // namespace testing
