// The Coolify adapter: `coolify.rollback` and the `from: coolify` target source, over
// Coolify's REST API (/work/shared/coolify-api.md, docs/coolify.md) with libcurl. The token
// is sent only in the Authorization header; no message, log line or observation carries it.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rollback/actions/action.hpp>
#include <rollback/plan/target.hpp>
#include <rollback/util/duration.hpp>
#include <rollback/util/result.hpp>

namespace rollback::actions::coolify {

struct Deployment {
  std::string uuid;            // deployment_uuid
  std::string commit;
  std::string commit_message;
  std::string status;          // queued | in_progress | finished | failed | cancelled-by-user
  std::string created_at;
  std::string updated_at;
  std::string image_tag;       // docker_registry_image_tag
  std::string logs;            // a JSON array as text; only with read:sensitive
  bool rollback = false;

  static Deployment from_json(const nlohmann::json& j);
  bool ended() const { return status == "finished" || status == "failed" || status == "cancelled-by-user"; }
};

// One run of a scheduled database backup (GET /databases/{uuid}/backups/{backup}/executions).
// Coolify's failed() clears `filename` and sets size 0, so only "success" rows name a file.
struct Execution {
  std::string uuid;
  std::string filename;  // the full local path on Coolify's server, or "" (failed)
  unsigned long long size = 0;
  std::string created_at;  // toIso8601String: "2025-01-27T18:00:00+00:00"
  std::string message;
  std::string status;  // running | success | failed

  static Execution from_json(const nlohmann::json& j);
};

struct ClientOptions {
  std::string url;             // the server's base, e.g. https://coolify.example.com
  std::string token;
  bool insecure = false;       // skip TLS verification (self-signed servers)
  Millis request_timeout{30000};
  // The step's deadline: no request runs past it (each gets the less of the two).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  int max_rate_limit_retries = 5;
  Millis max_retry_after{60000};  // a longer Retry-After fails (transient) instead of waiting
  std::function<void(std::string_view)> log;
};

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

// A request that asks Coolify to change something (the rollback POST, the PATCH of
// git_commit_sha, /deploy) and got no clear answer. `unknown`: it may have reached Coolify and
// been acted on (a timeout or a dropped connection once it was on its way, a 5xx, a 2xx that
// does not say what it queued), so nothing may assume it changed nothing. Not unknown: it
// surely changed nothing (the connection, name resolution or TLS failed before it was sent;
// Coolify refused it with a 4xx, or a 429 beyond the retries).
struct ChangeError {
  Error error;
  bool unknown = false;
};
template <class T>
using ChangeResult = std::expected<T, ChangeError>;

// Whether a failed transfer may have reached the server: false only for the libcurl errors
// (`curl_code`, a CURLcode) raised before anything was sent: resolving, connecting, the TLS
// handshake. `transfer_started`: libcurl had connected and was sending when it failed, which
// makes a timeout ambiguous (before that it is a connect timeout).
bool may_have_reached(int curl_code, bool transfer_started);
// Whether an HTTP status to a change request leaves its effect unknown: a 5xx (Coolify, or a
// proxy in front of it, failed, perhaps after acting) or a 1xx left as the last answer.
bool status_leaves_unknown(long status);

class Client {
 public:
  explicit Client(ClientOptions options);

  Result<std::string> version();
  // Newest first; accepts the {count, deployments} object and a bare array.
  Result<std::vector<Deployment>> deployments(const std::string& app, int take = 100);
  Result<Deployment> deployment(const std::string& uuid);
  // A scheduled backup's executions, newest first as Coolify orders them.
  Result<std::vector<Execution>> executions(const std::string& database, const std::string& backup);
  // POST /applications/{uuid}/rollback: the queued deployment's uuid. nullopt when the server
  // has no such endpoint (404 for the path, older servers); the caller then sets the commit
  // and deploys.
  ChangeResult<std::optional<std::string>> rollback(const std::string& app,
                                                    const std::string& commit);
  // Older servers: PATCH /applications/{uuid} {git_commit_sha}, then POST
  // /deploy?uuid=..&force=false (the queued deployment's uuid).
  ChangeResult<void> set_commit(const std::string& app, const std::string& commit);
  ChangeResult<std::string> deploy(const std::string& app);

  // One API call: "/version" -> {base}/api/v1/version. 429 is retried per Retry-After;
  // other statuses are returned as they came.
  Result<Response> call(const std::string& method, const std::string& path,
                        const std::optional<nlohmann::json>& body = std::nullopt);
  // The same for a call that changes something: a failure says whether it may have acted
  // (ChangeError::unknown); a 5xx is such a failure, other statuses are returned.
  ChangeResult<Response> change(const std::string& method, const std::string& path,
                                const std::optional<nlohmann::json>& body = std::nullopt);

 private:
  struct Attempt {
    Result<Response> response;
    bool may_have_reached = true;  // for a failed transfer: see may_have_reached()
  };
  Attempt once(const std::string& method, const std::string& path,
               const std::optional<nlohmann::json>& body);
  Attempt exchange(const std::string& method, const std::string& path,
                   const std::optional<nlohmann::json>& body);
  ClientOptions options_;
};

// An error for a non-2xx answer: "Coolify answered 401 to GET /deployments/..: ...".
Error http_error(const std::string& method, const std::string& path, const Response& r);

struct Choice {
  std::optional<Deployment> current;
  Deployment target;
};

// The deployment live now: the one in_progress (a deploy rolling out), else the newest finished.
std::optional<Deployment> current_of(const std::vector<Deployment>& newest_first);

// The current deployment (the one running now, else the newest finished) and the target:
// `wanted` (a deployment uuid, or a commit / prefix of at least 7 characters) or, when empty,
// the newest finished deployment older than the current whose commit differs.
Result<Choice> choose(const std::vector<Deployment>& newest_first, const std::string& wanted);

// The last `n` log lines of a deployment's `logs` field (hidden entries skipped).
std::vector<std::string> last_log_lines(const std::string& logs, size_t n);

// `url` and `token` (the API's address and its bearer token) followed by `rest`: what both
// coolify.rollback and the coolify target source take to reach the API.
std::vector<ParamSpec> with_api(std::vector<ParamSpec> rest);

Action rollback_action();  // coolify.rollback

Result<std::vector<plan::Target>> list_from_spec(const plan::TargetSpec& spec, const plan::Scope& scope);

// `from: coolify-backup` (coolify_backup_targets.cpp): a scheduled database backup's
// successful executions, newest first; each proved by reading its file whole (the local
// one, else the S3 copy downloaded through rclone into the spool), with `runner` for
// pg_restore and rclone. Its `with` schema makes the loader check target.with.
plan::TargetSource backup_target_source(proc::Runner& runner);

}  // namespace rollback::actions::coolify
