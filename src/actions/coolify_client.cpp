// A small client for Coolify's REST API (/api/v1) with libcurl. It knows the calls the
// rollback needs, Coolify's error shapes and its rate limit; nothing else.
#include <rollback/actions/coolify.hpp>
#include <rollback/actions/http_limits.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include <curl/curl.h>
#include <fmt/format.h>

#include <rollback/proc/runner.hpp>
#include <rollback/util/redact.hpp>

namespace rollback::actions::coolify {
namespace {

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(0, 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * count;
}

std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string server_message(const Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    std::string m = j["message"].get<std::string>();
    if (j.contains("errors") && j["errors"].is_object()) {
      for (const auto& [field, errs] : j["errors"].items()) m += fmt::format(" {}: {}", field, errs.dump());
    }
    return m;
  }
  return r.body.substr(0, 200);
}

// "POST /api/v1/x: ..." for a change whose answer could not be read or said nothing.
ChangeError unknown_answer(std::string message) {
  return {Error{redact(std::move(message)), false}, true};
}

}  // namespace

bool may_have_reached(int curl_code, bool transfer_started) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_FAILED_INIT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CLIENTCERT:
      return false;
    // A connect (or handshake) that timed out sent nothing; a request that timed out while
    // being sent or answered may have been received whole and acted on.
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_ABORTED_BY_CALLBACK:
      return transfer_started;
    default:  // a send or receive error, an empty or cut answer: the request may be in
      return true;
  }
}

bool status_leaves_unknown(long status) {
  return status >= 500 || status < 200;
}

Deployment Deployment::from_json(const nlohmann::json& j) {
  Deployment d;
  d.uuid = text(j, "deployment_uuid");
  d.commit = text(j, "commit");
  d.commit_message = text(j, "commit_message");
  d.status = text(j, "status");
  d.created_at = text(j, "created_at");
  d.updated_at = text(j, "updated_at");
  d.image_tag = text(j, "docker_registry_image_tag");
  d.logs = text(j, "logs");
  auto rb = j.find("rollback");
  d.rollback = rb != j.end() && ((rb->is_boolean() && rb->get<bool>()) || (rb->is_number() && rb->get<int>() != 0));
  return d;
}

Execution Execution::from_json(const nlohmann::json& j) {
  Execution e;
  e.uuid = text(j, "uuid");
  e.filename = text(j, "filename");
  e.created_at = text(j, "created_at");
  e.message = text(j, "message");
  e.status = text(j, "status");
  // Laravel may send a bigint column as a number or as text.
  if (auto it = j.find("size"); it != j.end()) {
    if (it->is_number_unsigned())
      e.size = it->get<unsigned long long>();
    else if (it->is_number_integer())
      e.size = static_cast<unsigned long long>(std::max(0LL, it->get<long long>()));
    else if (it->is_string())
      e.size = std::strtoull(it->get<std::string>().c_str(), nullptr, 10);
  }
  return e;
}

Error http_error(const std::string& method, const std::string& path, const Response& r) {
  std::string where = fmt::format("Coolify answered {} to {} /api/v1{}", r.status, method, path);
  std::string msg = server_message(r);
  switch (r.status) {
    case 400:
      if (msg.find("Invalid token") != std::string::npos) {
        return {where + ": the token is not valid for any team (Invalid token.); create a new API token", false};
      }
      return {fmt::format("{}: {}", where, msg), msg.find("queue") != std::string::npos};
    case 401:
      return {where + ": the API token is missing or wrong (Unauthenticated.); check the secret given as `token`", false};
    case 403:
      return {where + ": the token lacks the ability this call needs (read, deploy): " + msg, false};
    case 404:
      return {fmt::format("{}: {}", where, msg), false};
    case 422:
      return {fmt::format("{}: validation failed: {}", where, msg), false};
    case 429:
      return {where + ": rate limited (429) beyond the retries allowed", true};
    default:
      return {fmt::format("{}: {}", where, msg), r.status >= 500};
  }
}

std::vector<ParamSpec> with_api(std::vector<ParamSpec> rest) {
  std::vector<ParamSpec> params{
      param("url").required().names(plan::Names::Url).doc("the Coolify base URL, http(s)://host (the API is under /api/v1)"),
      param("token").required().doc("the Coolify API token, sent as a Bearer header; write it as ${secrets.NAME}")};
  params.insert(params.end(), rest.begin(), rest.end());
  return params;
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
  static const bool initialized = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)initialized;
}

Client::Attempt Client::once(const std::string& method, const std::string& path,
                             const std::optional<nlohmann::json>& body) {
  CURL* curl = curl_easy_init();
  if (!curl) return {fail("cannot initialise libcurl"), false};
  Response r;
  std::string url = options_.url + "/api/v1" + path;
  std::string auth = "Authorization: Bearer " + options_.token;
  std::string payload = body ? body->dump() : "";
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, auth.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (body) headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  // A POST without a body still says Content-Length: 0 (servers answer 411/400 otherwise).
  if (body || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  auto timeout = options_.request_timeout;
  if (options_.deadline != std::chrono::steady_clock::time_point::max())
    timeout = std::min(timeout, std::chrono::duration_cast<Millis>(
                                    options_.deadline - std::chrono::steady_clock::now()));
  http::bound_transfer(curl, timeout);
  http::stop_on_cancel(curl);
  // Redirects would resend the token elsewhere: an API base URL does not redirect.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (options_.insecure) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  // Connected, past TLS, and the request on its way (or some of it sent).
  curl_off_t pretransfer = 0;
  long request_bytes = 0;
  curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    bool transient = code == CURLE_OPERATION_TIMEDOUT || code == CURLE_COULDNT_CONNECT ||
                     code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_RECV_ERROR ||
                     code == CURLE_SEND_ERROR || code == CURLE_GOT_NOTHING;
    return {fail(redact(fmt::format("{} {}/api/v1{} failed: {}", method, options_.url, path,
                                    curl_easy_strerror(code))),
                 transient),
            may_have_reached(code, pretransfer > 0 || request_bytes > 0)};
  }
  return {r, true};
}

Result<Response> Client::call(const std::string& method, const std::string& path,
                              const std::optional<nlohmann::json>& body) {
  return exchange(method, path, body).response;
}

ChangeResult<Response> Client::change(const std::string& method, const std::string& path,
                                      const std::optional<nlohmann::json>& body) {
  auto done = exchange(method, path, body);
  if (!done.response) {
    if (!done.may_have_reached) return std::unexpected(ChangeError{done.response.error(), false});
    return std::unexpected(ChangeError{Error{done.response.error().message, false}, true});
  }
  if (status_leaves_unknown(done.response->status))
    return std::unexpected(
        ChangeError{Error{http_error(method, path, *done.response).message, false}, true});
  return *done.response;
}

Client::Attempt Client::exchange(const std::string& method, const std::string& path,
                                 const std::optional<nlohmann::json>& body) {
  for (int attempt = 0;; ++attempt) {
    auto done = once(method, path, body);
    const auto& r = done.response;
    if (!r || r->status != 429) return done;
    if (attempt >= options_.max_rate_limit_retries) return done;
    Millis wait(1000);
    if (auto it = r->headers.find("retry-after"); it != r->headers.end()) {
      try {
        wait = Millis(std::stoll(it->second) * 1000);
      } catch (...) {
      }
    }
    if (wait > options_.max_retry_after) return done;
    if (options_.log) {
      options_.log(fmt::format("Coolify rate limit (429) on {} {}: waiting {} as Retry-After asks", method,
                               path, format_duration(wait)));
    }
    // Sleep in slices so Ctrl-C is not held up by a long Retry-After.
    auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (proc::cancel_requested())
        return {fail("interrupted while waiting for Coolify's rate limit"), false};
      std::this_thread::sleep_for(Millis(50));
    }
  }
}

Result<std::string> Client::version() {
  auto r = call("GET", "/version");
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(http_error("GET", "/version", *r));
  std::string v = r->body;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

Result<std::vector<Deployment>> Client::deployments(const std::string& app, int take) {
  std::string path = fmt::format("/deployments/applications/{}?skip=0&take={}", app, take);
  auto r = call("GET", path);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(http_error("GET", path, *r));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  // The code returns {count, deployments}; the published OpenAPI text says an array.
  const nlohmann::json* list = nullptr;
  if (j.is_object() && j.contains("deployments") && j["deployments"].is_array()) list = &j["deployments"];
  if (j.is_array()) list = &j;
  if (!list) return fail(fmt::format("GET /api/v1{}: expected a deployments list, got: {}", path, r->body.substr(0, 200)));
  std::vector<Deployment> out;
  for (const auto& d : *list) {
    if (d.is_object()) out.push_back(Deployment::from_json(d));
  }
  return out;
}

Result<Deployment> Client::deployment(const std::string& uuid) {
  std::string path = "/deployments/" + uuid;
  auto r = call("GET", path);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(http_error("GET", path, *r));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object()) return fail("GET /api/v1" + path + ": expected a deployment object");
  return Deployment::from_json(j);
}

Result<std::vector<Execution>> Client::executions(const std::string& database,
                                                  const std::string& backup) {
  std::string path = fmt::format("/databases/{}/backups/{}/executions", database, backup);
  auto r = call("GET", path);
  if (!r) return std::unexpected(r.error());
  if (r->status != 200) return std::unexpected(http_error("GET", path, *r));
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("executions") || !j["executions"].is_array())
    return fail(fmt::format("GET /api/v1{}: expected {{\"executions\": [...]}}, got: {}", path,
                            r->body.substr(0, 200)));
  std::vector<Execution> out;
  for (const auto& e : j["executions"])
    if (e.is_object()) out.push_back(Execution::from_json(e));
  return out;
}

ChangeResult<std::optional<std::string>> Client::rollback(const std::string& app,
                                                          const std::string& commit) {
  std::string path = "/applications/" + app + "/rollback";
  auto r = change("POST", path, nlohmann::json{{"commit", commit}});
  if (!r) return std::unexpected(r.error());
  if (r->status == 404) {
    // "Application not found." is the application; any other 404 is the route itself.
    if (server_message(*r).find("Application") != std::string::npos) {
      return std::unexpected(ChangeError{http_error("POST", path, *r), false});
    }
    return std::optional<std::string>{};
  }
  if (r->status < 200 || r->status > 299)
    return std::unexpected(ChangeError{http_error("POST", path, *r), false});
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  std::string uuid = j.is_object() ? text(j, "deployment_uuid") : "";
  // Accepted without a deployment to follow: Coolify skips a rollback when one of the same
  // commit is already queued, and an answer it could not finish says nothing at all.
  if (uuid.empty())
    return std::unexpected(unknown_answer(
        fmt::format("Coolify answered {} to POST /api/v1{} without a deployment_uuid: {}",
                    r->status, path, server_message(*r))));
  return std::optional<std::string>{uuid};
}

ChangeResult<void> Client::set_commit(const std::string& app, const std::string& commit) {
  std::string path = "/applications/" + app;
  auto r = change("PATCH", path, nlohmann::json{{"git_commit_sha", commit}});
  if (!r) return std::unexpected(r.error());
  if (r->status < 200 || r->status > 299)
    return std::unexpected(ChangeError{http_error("PATCH", path, *r), false});
  return {};
}

ChangeResult<std::string> Client::deploy(const std::string& app) {
  std::string path = "/deploy?uuid=" + app + "&force=false";
  auto r = change("POST", path);
  if (!r) return std::unexpected(r.error());
  if (r->status < 200 || r->status > 299)
    return std::unexpected(ChangeError{http_error("POST", path, *r), false});
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("deployments") && j["deployments"].is_array() && !j["deployments"].empty()) {
    auto uuid = text(j["deployments"][0], "deployment_uuid");
    if (!uuid.empty()) return uuid;
  }
  return std::unexpected(unknown_answer(
      fmt::format("Coolify answered {} to POST /api/v1{} without a deployment_uuid: {}", r->status,
                  path, server_message(*r))));
}

}  // namespace rollback::actions::coolify
