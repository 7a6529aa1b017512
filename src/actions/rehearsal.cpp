// The throwaway copies of one rehearsal (include/rollback/actions/rehearsal.hpp).
#include <rollback/actions/rehearsal.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include <rollback/actions/docker_common.hpp>
#include <rollback/actions/docker_helper.hpp>
#include <rollback/actions/git.hpp>
#include <rollback/actions/output.hpp>
#include <rollback/actions/postgres.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::actions {
namespace {
namespace fs = std::filesystem;

constexpr Millis kRemoveTime{60'000};

// Docker names and database names take [a-z0-9_.-]; run ids already nearly do.
std::string name_part(std::string_view text, char other = '-') {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : (c == '_' || c == '.' || c == '-' ? c : other));
  }
  return out;
}

fs::path absolute_path(const fs::path& p) {
  std::error_code ec;
  auto abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal();
}

bool under(const fs::path& path, const fs::path& folder) {
  auto rel = path.lexically_relative(folder);
  return !rel.empty() && *rel.begin() != "..";
}

Result<proc::Completed> run_command(proc::Runner& runner, std::vector<std::string> argv, Millis timeout,
                                    bool survives_cancel = false) {
  proc::Command command;
  command.argv = std::move(argv);
  command.timeout = timeout;
  command.survives_cancel = survives_cancel;
  return runner.run(command);
}

// One SQL statement on the server of `dsn` (libpq, so no psql is needed).
Status exec_sql(const pg::Dsn& dsn, const std::string& sql) {
  auto conninfo = dsn.conninfo({{"connect_timeout", "10"}});
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    return fail(fmt::format("cannot connect to {}: {}", dsn.where, conn ? trim(PQerrorMessage(conn.get())) : "out of memory"));
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
  auto status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    return fail(fmt::format("{} on {}: {}", sql.substr(0, sql.find(' ', 7)), dsn.where, trim(PQerrorMessage(conn.get()))));
  return ok();
}

std::string quoted_identifier(const std::string& name) { return "\"" + name + "\""; }

void remove_labelled(proc::Runner& runner, const std::vector<std::string>& filters,
                     const std::function<void(std::string_view)>& log) {
  struct Kind {
    std::vector<std::string> list, remove;
    const char* what;
  };
  const Kind kinds[] = {{{"docker", "ps", "-aq"}, {"docker", "rm", "-f", "--"}, "container"},
                        {{"docker", "network", "ls", "-q"}, {"docker", "network", "rm", "--"}, "network"},
                        {{"docker", "volume", "ls", "-q"}, {"docker", "volume", "rm", "-f", "--"}, "volume"}};
  for (const auto& kind : kinds) {
    auto argv = kind.list;
    for (const auto& f : filters) argv.insert(argv.end(), {"--filter", f});
    auto found = run_command(runner, argv, kRemoveTime, true);
    if (!found || !found->succeeded()) return;  // no engine: nothing of ours runs in it
    auto ids = nonempty_lines(found->out);
    if (ids.empty()) continue;
    auto remove = kind.remove;
    remove.insert(remove.end(), ids.begin(), ids.end());
    if (log) log(fmt::format("removing {} rehearsal {}(s)", ids.size(), kind.what));
    auto done = run_command(runner, remove, kRemoveTime, true);
    if (log && done && !done->succeeded()) log("could not remove every one: " + last_error_line(*done));
  }
}

void drop_database(const nlohmann::json& r, const std::function<void(std::string_view)>& log) {
  auto dsn = pg::parse_dsn(r.value("dsn", ""));
  if (!dsn) return;
  auto name = r.value("name", "");
  if (!name.starts_with("rb_rehearsal_")) return;  // only ever ours
  auto dropped = exec_sql(*dsn, "DROP DATABASE IF EXISTS " + quoted_identifier(name) + " WITH (FORCE)");
  if (log) log(dropped ? fmt::format("dropped scratch database {}", name)
                       : redact(fmt::format("could not drop scratch database {}: {}; drop it by hand", name,
                                            dropped.error().message)));
}

void remove_dir(const fs::path& dir, const fs::path& state_dir, const std::function<void(std::string_view)>& log) {
  // Only ever a folder under <state>/rehearsals/.
  if (!under(absolute_path(dir), absolute_path(state_dir / "rehearsals"))) return;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  fs::remove_all(dir, ec);
  if (log) log(ec ? fmt::format("could not remove {}: {}", dir.string(), ec.message())
                  : fmt::format("removed {}", dir.string()));
}

}  // namespace

Rehearsal::Rehearsal(std::string run_id, std::string state_dir)
    : run_id_(std::move(run_id)), state_dir_(std::move(state_dir)) {}

fs::path Rehearsal::dir() const { return fs::path(state_dir_) / "rehearsals" / run_id_; }

std::vector<std::string> Rehearsal::labels() const {
  return {fmt::format("{}={}", kRehearsalLabel, run_id_), fmt::format("{}={}", docker::kStateLabel, state_dir_)};
}

void Rehearsal::note(const nlohmann::json& resource) {
  made_.push_back(resource);
  if (made) made(resource);
}

Status Rehearsal::make_dir() {
  if (dir_made_) return ok();
  note({{"kind", "dir"}, {"path", dir().string()}});
  RB_TRY(make_private_dirs(dir()));
  dir_made_ = true;
  return ok();
}

Result<fs::path> Rehearsal::mirror(ActionContext& ctx, const fs::path& production, bool is_dir) {
  fs::path prod = absolute_path(production);
  fs::path folder = is_dir ? prod : prod.parent_path();
  fs::path root = dir() / "fs";
  fs::path copy = root / prod.relative_path();
  if (!for_real) return copy;
  RB_TRY(make_dir());
  bool inside_a_copy = false;
  for (const auto& done : copied_) inside_a_copy = inside_a_copy || done == folder || under(folder, done);
  fs::path folder_copy = root / folder.relative_path();
  std::error_code ec;
  fs::create_directories(folder_copy, ec);
  if (ec) return fail(fmt::format("cannot create {}: {}", folder_copy.string(), ec.message()));
  if (!inside_a_copy && fs::is_directory(folder, ec)) {
    // -n: what a rehearsed step already wrote into the copy (a restored file) stays.
    if (ctx.log) ctx.log(fmt::format("copying {} to {} (the rehearsal's copy)", folder.string(), folder_copy.string()));
    auto done = run_command(ctx.runner, {"cp", "-a", "-n", "--", folder.string() + "/.", folder_copy.string() + "/"},
                            ctx.remaining(Millis(0)));
    if (!done || !done->succeeded())
      return fail(fmt::format("cannot copy {} for the rehearsal: {}", folder.string(),
                              done ? last_error_line(*done) : done.error().message));
    copied_.insert(folder);
  }
  mirrors_[prod] = copy;
  return copy;
}

std::optional<fs::path> Rehearsal::mirrored(const fs::path& production) const {
  fs::path prod = absolute_path(production);
  for (const auto& folder : copied_)
    if (folder == prod || under(prod, folder)) return dir() / "fs" / prod.relative_path();
  if (auto it = mirrors_.find(prod); it != mirrors_.end()) return it->second;
  return std::nullopt;
}

Result<std::string> Rehearsal::volume(ActionContext& ctx, const Params& p, const std::string& production, bool fill) {
  if (auto it = volumes_.find(production); it != volumes_.end()) return it->second;
  std::string name = name_part(fmt::format("rbr-{}-{}", run_id_, production));
  if (!for_real) return name;
  note({{"kind", "volume"}, {"name", name}});
  auto create = docker::docker_argv(p);
  create.insert(create.end(), {"volume", "create"});
  for (const auto& label : labels()) create.insert(create.end(), {"--label", label});
  create.push_back(name);
  if (auto made = docker::run_checked(ctx, p, create, {.cap = docker::kShortCommand}); !made)
    return std::unexpected(made.error());
  volumes_[production] = name;
  if (!fill) return name;
  auto exists = docker::volume_exists(ctx, p, production);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return name;  // production has none yet: compose would have made it empty too
  auto helper = docker::helper_for(ctx);
  helper.name = name_part(fmt::format("rbr-{}-fill-{}", run_id_, production));
  for (const auto& label : labels()) helper.labels.push_back(label);
  auto image = helper_image.empty() ? std::string(docker::kDefaultHelperImage) : helper_image;
  auto argv = docker::helper_argv(p, helper, {production + ":/from:ro", name + ":/to"}, image,
                                  {"sh", "-c", "cp -a /from/. /to/"});
  if (ctx.log) ctx.log(fmt::format("copying volume {} into {} (read-only)", production, name));
  auto done = docker::run_helper(ctx, p, helper, argv);
  if (!done || !done->succeeded()) return std::unexpected(docker::explain(ctx, p, "copy of volume " + production, done));
  return name;
}

std::string Rehearsal::project_for(const std::string&) const { return name_part("rbr-" + run_id_); }
void Rehearsal::started(const std::string& production) { projects_.insert(production); }
std::optional<std::string> Rehearsal::project(const std::string& production) const {
  if (!projects_.contains(production)) return std::nullopt;
  return project_for(production);
}

Result<int> Rehearsal::free_port(const std::string& host_ip) {
  bool v6 = host_ip.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("cannot open a socket to find a free port");
  int port = -1;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    if (host_ip.empty() || ::inet_pton(AF_INET6, host_ip.c_str(), &a.sin6_addr) != 1) a.sin6_addr = in6addr_any;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin6_port);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (host_ip.empty() || ::inet_pton(AF_INET, host_ip.c_str(), &a.sin_addr) != 1) a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ::close(fd);
  if (port <= 0) return fail(fmt::format("no free port on {}", host_ip.empty() ? "this host" : host_ip));
  return port;
}

void Rehearsal::moved_port(int production, int rehearsal) { ports_[production] = rehearsal; }

std::optional<std::string> Rehearsal::map_url(const std::string& url) const {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  auto authority_start = scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority_start);
  std::string authority = url.substr(authority_start, authority_end - authority_start);
  std::string userinfo;
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    userinfo = authority.substr(0, at + 1);
    authority = authority.substr(at + 1);
  }
  std::string host = authority, port_text;
  if (auto close = authority.rfind(']'); authority.starts_with('[') && close != std::string::npos) {
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  static const std::set<std::string> local{"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "[::]"};
  if (!local.contains(host)) return std::nullopt;
  std::string scheme = url.substr(0, scheme_end);
  int port = 0;
  try {
    port = port_text.empty() ? (scheme == "https" ? 443 : 80) : std::stoi(port_text);
  } catch (...) {
    return std::nullopt;
  }
  auto moved = ports_.find(port);
  if (moved == ports_.end()) return std::nullopt;
  std::string rest = authority_end == std::string::npos ? "" : url.substr(authority_end);
  return fmt::format("{}://{}{}:{}{}", scheme, userinfo, host == "0.0.0.0" ? "127.0.0.1" : host, moved->second, rest);
}

Result<std::string> Rehearsal::map_dsn(ActionContext& ctx, const std::string& production) {
  (void)ctx;
  if (auto it = databases_.find(production); it != databases_.end()) return it->second;
  auto dsn = pg::parse_dsn(production);
  if (!dsn) return std::unexpected(dsn.error());
  auto get = [&](const char* key, const char* env, const char* fallback) {
    if (auto it = dsn->options.find(key); it != dsn->options.end()) return it->second;
    const char* value = std::getenv(env);
    return std::string(value && *value ? value : fallback);
  };
  std::string host = get("host", "PGHOST", "localhost");
  int port = 5432;
  try {
    port = std::stoi(get("port", "PGPORT", "5432"));
  } catch (...) {
  }
  bool local = host == "localhost" || host == "127.0.0.1" || host == "::1";
  if (auto moved = ports_.find(port); local && moved != ports_.end()) {
    auto mapped = dsn->conninfo({{"host", "127.0.0.1"}, {"port", std::to_string(moved->second)}});
    databases_[production] = mapped;
    return mapped;
  }
  std::string name = name_part("rb_rehearsal_" + run_id_, '_');
  for (auto& c : name)
    if (c == '-' || c == '.') c = '_';
  name = name.substr(0, 63);
  auto mapped = dsn->conninfo({{"dbname", name}});
  if (!for_real) return mapped;
  note({{"kind", "database"}, {"name", name}, {"dsn", production}});
  RB_TRY(exec_sql(*dsn, "CREATE DATABASE " + quoted_identifier(name)));
  RB_TRY(exec_sql(*dsn, fmt::format("COMMENT ON DATABASE {} IS '{}={} (scratch database of a rehearsal)'",
                                    quoted_identifier(name), kRehearsalLabel, run_id_)));
  if (ctx.log) ctx.log(fmt::format("created scratch database {} on {}", name, dsn->where));
  databases_[production] = mapped;
  return mapped;
}

Result<fs::path> Rehearsal::clone(ActionContext& ctx, const std::string& repo) {
  if (auto it = clones_.find(repo); it != clones_.end()) return it->second;
  fs::path where = dir() / "git" / name_part(fs::path(repo).filename().string());
  if (!for_real) return where;
  RB_TRY(make_dir());
  std::error_code ec;
  fs::create_directories(where.parent_path(), ec);
  auto done = git::run(ctx.runner, where.parent_path().string(),
                       {"clone", "--quiet", "--no-hardlinks", "--", repo, where.string()}, ctx.remaining(Millis(300'000)));
  if (!done) return std::unexpected(done.error());
  if (!done->succeeded()) return fail(fmt::format("cannot clone {} for the rehearsal: {}", repo, trim(done->err)));
  if (ctx.log) ctx.log(fmt::format("cloned {} into {} (nothing is pushed from it)", repo, where.string()));
  clones_[repo] = where;
  return where;
}

nlohmann::json Rehearsal::summary() const {
  nlohmann::json volumes = nlohmann::json::object(), ports = nlohmann::json::object();
  for (const auto& [prod, copy] : volumes_) volumes[prod] = copy;
  for (const auto& [prod, moved] : ports_) ports[std::to_string(prod)] = moved;
  nlohmann::json projects = nlohmann::json::object();
  for (const auto& prod : projects_) projects[prod] = project_for(prod);
  nlohmann::json databases = nlohmann::json::array();
  for (const auto& r : made_)
    if (r.value("kind", "") == "database") databases.push_back(r.value("name", ""));
  return {{"label", fmt::format("{}={}", kRehearsalLabel, run_id_)}, {"dir", dir().string()}, {"volumes", volumes},
          {"projects", projects}, {"ports", ports}, {"databases", databases}, {"restore_steps_rehearsed", restores}};
}

void Rehearsal::remove_all(proc::Runner& runner, const std::function<void(std::string_view)>& log) {
  remove_labelled(runner, {fmt::format("label={}={}", kRehearsalLabel, run_id_)}, log);
  for (const auto& r : made_)
    if (r.value("kind", "") == "database") drop_database(r, log);
  remove_dir(dir(), state_dir_, log);
}

void clean_up_rehearsals(CleanupContext& ctx) {
  if (ctx.state_dir.empty()) return;
  for (const auto& r : ctx.held)
    if (r.value("kind", "") == "database") drop_database(r, ctx.log);
  std::vector<std::string> filters{fmt::format("label={}", kRehearsalLabel),
                                   fmt::format("label={}={}", docker::kStateLabel, ctx.state_dir)};
  if (!ctx.run_id.empty()) filters[0] = fmt::format("label={}={}", kRehearsalLabel, ctx.run_id);
  remove_labelled(ctx.runner, filters, ctx.log);
  fs::path root = fs::path(ctx.state_dir) / "rehearsals";
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (ctx.run_id.empty() || it->path().filename() == ctx.run_id) remove_dir(it->path(), ctx.state_dir, ctx.log);
}

Result<Rehearsed> rehearse_step(Rehearsal& rehearsal, plan::Phase phase, const Action& action, const YAML::Node& with,
                                ActionContext& ctx, const Params& params) {
  switch (phase) {
    case plan::Phase::Backup:
    case plan::Phase::Stop:
    case plan::Phase::Notify:
      return Rehearsed::skip(fmt::format("not rehearsed: a {} step (production is left as it is)", plan::to_string(phase)));
    case plan::Phase::Assess:
      if (action.reads_only(with)) return Rehearsed::run(params, "looks at production, read-only");
      break;
    default:
      break;
  }
  if (!action.rehearse) return Rehearsed::skip(fmt::format("not rehearsed: {} cannot run against copies", action.name));
  // A check with nothing of the target's restored before it would look at production, or
  // at an empty scratch copy: neither proves the target (the verdict is then exit 4).
  if (phase == plan::Phase::Verify && (rehearsal.for_real ? rehearsal.restores : rehearsal.planned_restores) == 0)
    return Rehearsed::skip("not rehearsed: no restore step ran against copies before it, so it has nothing of the "
                           "target's to check");
  auto rehearsed = action.rehearse(rehearsal, ctx, params);
  if (rehearsed && rehearsed->kind == Rehearsed::Kind::Run && phase == plan::Phase::Restore)
    ++(rehearsal.for_real ? rehearsal.restores : rehearsal.planned_restores);
  if (rehearsed && rehearsed->kind == Rehearsed::Kind::Run && phase == plan::Phase::Verify && rehearsal.for_real)
    ++rehearsal.verifies;
  return rehearsed;
}

}  // namespace rollback::actions
