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

class Client {
 public:
  explicit Client(ClientOptions options);

  Result<std::string> version();
  // Newest first; accepts the {count, deployments} object and a bare array.
  Result<std::vector<Deployment>> deployments(const std::string& app, int take = 100);
  Result<Deployment> deployment(const std::string& uuid);
  // POST /applications/{uuid}/rollback. nullopt when the server has no such endpoint (404 for
  // the path, older servers); the caller then falls back to redeploy().
  Result<std::optional<std::string>> rollback(const std::string& app, const std::string& commit);
  // Older servers: PATCH git_commit_sha, then POST /deploy?uuid=..&force=false.
  Result<std::string> redeploy_at(const std::string& app, const std::string& commit);

  // One API call: "/version" -> {base}/api/v1/version. 429 is retried per Retry-After;
  // other statuses are returned as they came.
  Result<Response> call(const std::string& method, const std::string& path,
                        const std::optional<nlohmann::json>& body = std::nullopt);

 private:
  Result<Response> once(const std::string& method, const std::string& path,
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

}  // namespace rollback::actions::coolify
