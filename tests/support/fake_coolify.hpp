// An in-process fake Coolify server (cpp-httplib) that follows the published API in
// /work/shared/coolify-api.md: the same paths under /api/v1, Bearer auth answering 401
// {"message":"Unauthenticated."}, the same JSON field names and status values, and the
// {count, deployments} object for an application's deployments, and a scheduled database
// backup's executions (DatabaseBackupsController::listExecutions in Coolify's source). Scriptable:
// the deployment list, how new deployments progress over time (queued -> in_progress -> finished /
// failed), rate limiting, servers without the rollback endpoint; every request is recorded.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
}

namespace testing {

struct FakeDeployment {
  std::string uuid;
  std::string commit;
  std::string commit_message;
  std::string status = "finished";
  std::string created_at{};  // "2026-11-20T10:00:00.000000Z"; filled in when empty
  std::string logs{};       // the `logs` field: a JSON array as text
  bool rollback = false;
  // Status over time for deployments the fake creates: each stage lasts its duration from
  // the moment the deployment was queued; the last stage stays.
  std::vector<std::pair<std::string, std::chrono::milliseconds>> stages{};
  std::chrono::steady_clock::time_point queued_at{};
};

// One run of a scheduled database backup, as ScheduledDatabaseBackupExecution stores it.
// A failed run has no filename (null in the answer) and size 0, as DatabaseBackupJob's
// failed() leaves it.
struct FakeExecution {
  std::string uuid;
  std::string filename;  // the full local path; "" answers null
  unsigned long long size = 0;
  std::string created_at;  // toIso8601String: "2026-11-20T10:00:00+00:00"
  std::string status = "success";
  std::string message{};
};

// How a change route misbehaves, as Coolify under load or a proxy in front of it may.
struct FakeFault {
  int status = 0;                      // answer this status instead (0: the normal answer)
  bool acts = true;                    // the change is made (a deployment queued) before answering
  std::chrono::milliseconds stall{0};  // wait this long, after acting, before answering
  std::string body{};  // the body instead ("" with a status: Laravel's {"message": "Server Error"})
};

struct RecordedRequest {
  std::string method;
  std::string path;           // without the query
  std::map<std::string, std::string> query;
  std::string authorization;  // the header as received
  std::string body;
};

class FakeCoolify {
 public:
  static constexpr const char* kApp = "app-uuid-1";

  explicit FakeCoolify(std::string token = "fake-token-s3cr3t", std::string app_uuid = kApp);
  ~FakeCoolify();
  FakeCoolify(const FakeCoolify&) = delete;
  FakeCoolify& operator=(const FakeCoolify&) = delete;

  std::string url() const;  // http://127.0.0.1:PORT (no /api/v1)

  // The application's deployments, newest first (as Coolify lists them).
  void set_deployments(std::vector<FakeDeployment> newest_first);
  // How the next deployments the fake queues progress (default: finished at once).
  void set_new_deployment_stages(std::vector<std::pair<std::string, std::chrono::milliseconds>> stages,
                                 std::string logs = "");
  void set_rollback_endpoint(bool present);       // false: an older server (404 for the path)
  void rate_limit_first(int requests, int retry_after_seconds);
  void set_bare_array(bool bare);                 // list deployments as a bare array
  void set_version(std::string version);
  // route: "rollback" (POST /applications/{uuid}/rollback), "patch" (PATCH /applications/{uuid})
  // or "deploy" (POST /deploy).
  void set_fault(const std::string& route, FakeFault fault);
  // The scheduled backup `backup` of database `database` and its executions, in any order:
  // the executions route lists them by created_at, newest first, as the controller does.
  void set_backup(std::string database, std::string backup, std::vector<FakeExecution> executions);

  std::vector<RecordedRequest> requests() const;
  std::vector<FakeDeployment> deployments() const;  // newest first, statuses as of now
  std::string app_commit() const;                   // git_commit_sha set through PATCH

 private:
  struct State;
  void install_routes();
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<State> state_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace testing
