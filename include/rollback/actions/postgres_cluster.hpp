// A gzipped pg_dumpall script (Coolify's "backup all databases") restored over a live server
// by pg.restore (src/actions/postgres_cluster.cpp).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <rollback/actions/action.hpp>
#include <rollback/actions/postgres.hpp>
#include <rollback/util/archive.hpp>

namespace rollback::actions::pg {

// postgres_dump.cpp: decompresses `from` to its end and checks it is a whole pg_dump or
// pg_dumpall script; `also` receives the SQL as it comes.
Status read_gzip_sql(const std::filesystem::path& from, const Sink& also = {});

// pg_dumpall writes a script for an empty server: it creates roles and databases without
// dropping them first (Coolify runs it without --clean). Made restorable over a live server,
// line by line: a role is created only when missing (then altered to the dump's attributes),
// each database the script creates is dropped first (WITH (FORCE): its sessions end), and
// `postgres`, whose content pg_dumpall restores into the existing database, is dropped and
// created empty from template0 first. Feed it the script in any pieces; `out` gets whole lines.
class ClusterScript {
 public:
  explicit ClusterScript(Sink out) : out_(std::move(out)) {}
  Status feed(std::string_view data);
  Status finish();  // the last line, when the script does not end with a newline
  int databases_replaced() const { return databases_; }

 private:
  Status line(std::string_view text);
  Sink out_;
  std::string pending_;
  int databases_ = 0;
};

// Whether the first bytes of `from` are gzip's (a pg_dumpall script, as Coolify keeps it).
bool is_gzip_file(const std::filesystem::path& from);

// pg.restore of such a script, once verify_dump proved it (`script_bytes`: its SQL, counted by
// that pass): rewritten into a private temporary file (after a room check), then run by psql
// with ON_ERROR_STOP. Not one transaction (CREATE DATABASE cannot be in one): a failure names
// the statement, and says the server may be partly restored.
Outcome restore_cluster(ActionContext& ctx, const Dsn& dsn, const std::filesystem::path& from,
                        unsigned long long script_bytes);

}  // namespace rollback::actions::pg
