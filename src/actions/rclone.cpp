// rclone as the off-host transport (actions/rclone.hpp). Why rclone and not an S3 client of
// our own: one program speaks S3 and its look-alikes, SFTP, WebDAV, Azure and B2, streams
// large files in multipart uploads, retries, and encrypts on the client (`crypt`).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <map>

#include <rollback/actions/adapters.hpp>
#include <rollback/actions/rclone.hpp>
#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/runtime_dir.hpp>
#include <rollback/util/time.hpp>

namespace rollback::actions::rclone {
namespace {

// rclone logs each retry, then a summary ("2026/12/07 16:48:51 Failed to copy: ..." with
// "caused by: ..." on lines of their own): the summary, on one line, says it all.
std::string last_message(const std::string& text) {
  std::vector<std::string> entries;
  size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    auto line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (line.empty()) continue;
    bool stamped = line.size() > 20 && line[4] == '/' && line[7] == '/' && line[13] == ':' && line[19] == ' ';
    if (stamped || entries.empty()) entries.push_back(stamped ? line.substr(20) : line);
    else entries.back() += "; " + line;
  }
  return entries.empty() ? std::string() : entries.back();
}

// One rclone command: quiet but for errors, the remote's environment on top of ours.
Result<proc::Completed> run(proc::Runner& runner, const plan::OffsiteRemote& remote, std::vector<std::string> args,
                            const std::string& what) {
  if (auto bad = plan::check_remote(remote.remote); !bad.empty()) return fail("offsite.remote: " + bad);
  proc::Command command;
  command.argv = {"rclone", "--log-level", "ERROR"};
  command.argv.insert(command.argv.end(), args.begin(), args.end());
  command.env = remote.env;
  command.capture_limit = 4 << 20;  // listings of a few thousand files
  auto done = runner.run(command);
  if (!done) return fail(fmt::format("{}: rclone could not start ({}); install it: apt-get install rclone", what,
                                     done.error().message));
  if (!done->succeeded()) {
    auto err = last_message(done->err.empty() ? done->out : done->err);
    if (err.find("LoadCustomCABundleError") != std::string::npos)
      err += " (this rclone's S3 backend cannot read AWS_CA_BUNDLE: unset it, and name the CA with RCLONE_CA_CERT)";
    return fail(redact(fmt::format("{}: rclone {}: {}", what, done->outcome(), err)));
  }
  return done;
}

// How a copy can be checked on this remote without reading it back: the hashes the backend
// keeps ("md5" for S3, several for SFTP with a shell), none for a crypt remote.
Result<std::vector<std::string>> hashes_of(proc::Runner& runner, const plan::OffsiteRemote& remote) {
  auto done = run(runner, remote, {"backend", "features", "--", remote.remote}, "reading the remote's features");
  if (!done) return std::unexpected(done.error());
  auto features = nlohmann::json::parse(done->out, nullptr, false);
  std::vector<std::string> hashes;
  if (features.is_object() && features.contains("Hashes") && features["Hashes"].is_array())
    for (const auto& h : features["Hashes"])
      if (h.is_string()) hashes.push_back(h.get<std::string>());
  return hashes;
}

// A crypt remote keeps no hash of the plaintext; `cryptcheck` compares the local file
// encrypted with the object's nonce. The remote's type is in RCLONE_CONFIG_<NAME>_TYPE (the
// plan's offsite.env, or rollback's environment), else in rclone's config file.
bool is_crypt(proc::Runner& runner, const plan::OffsiteRemote& remote) {
  auto name = remote.remote.substr(0, remote.remote.find(':'));
  std::string variable = "RCLONE_CONFIG_";
  for (char c : name) variable += c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  variable += "_TYPE";
  if (auto it = remote.env.find(variable); it != remote.env.end()) return it->second == "crypt";
  if (const char* type = std::getenv(variable.c_str())) return std::string(type) == "crypt";
  auto done = run(runner, remote, {"config", "dump"}, "reading the remote's type");
  if (!done) return false;
  auto config = nlohmann::json::parse(done->out, nullptr, false);
  return config.is_object() && config.contains(name) && config[name].value("type", "") == "crypt";
}

// The copy, checked there. On a backend that keeps a hash both sides have (MD5 on S3, MD5
// and SHA-1 on SFTP with a shell), `rclone copy --checksum` checks each file's size and hash
// as it lands ("corrupted on transfer" otherwise), and judges a file already there by its
// hash, never by its time: a second pass (`rclone check`) would hash every byte again to
// learn nothing more. A crypt remote keeps no hash of the plaintext: `cryptcheck` then
// compares each local file encrypted with its object's nonce. With no hash, it reads back.
Result<plan::OffsiteCheck> copy_and_check(proc::Runner& runner, const plan::OffsiteRemote& remote,
                                          const std::filesystem::path& folder, const std::string& there) {
  auto hashes = hashes_of(runner, remote);
  if (!hashes) return std::unexpected(hashes.error());
  std::vector<std::string> copy = {"copy", "--", folder.string(), there}, check;
  std::string method;
  if (!hashes->empty()) {
    method = hashes->front();
    copy = {"copy", "--checksum", "--", folder.string(), there};
  } else if (is_crypt(runner, remote)) {
    method = "cryptcheck";
    check = {"cryptcheck", "--one-way", "--", folder.string(), there};
  } else {
    method = "read back";
    check = {"check", "--one-way", "--download", "--", folder.string(), there};
  }
  auto copied = run(runner, remote, copy, fmt::format("copying to {}", there));
  if (!copied) return std::unexpected(copied.error());
  if (!check.empty())
    if (auto checked = run(runner, remote, check, fmt::format("checking the copy at {}", there)); !checked)
      return std::unexpected(checked.error());
  plan::OffsiteCheck result{.method = method};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) {
      result.bytes += entry.file_size();
      ++result.files;
    }
  return result;
}

// The marker, written last: what was checked, and when.
Status write_marker(proc::Runner& runner, const plan::OffsiteRemote& remote, const std::string& there,
                    const std::string& name, const plan::OffsiteCheck& checked) {
  auto dir = make_runtime_subdir("offsite");
  if (!dir) return std::unexpected(dir.error());
  auto file = *dir / kMarker;
  nlohmann::json marker = {{"name", name},
                           {"files", checked.files},
                           {"bytes", checked.bytes},
                           {"checked", checked.method},
                           {"pushed", format_iso_utc(std::chrono::system_clock::now())}};
  Status wrote = write_file_atomic(file, marker.dump(2) + "\n");
  if (wrote) {
    auto copied = run(runner, remote, {"copyto", "--", file.string(), plan::offsite_path(there, kMarker)},
                      fmt::format("marking the copy at {} complete", there));
    if (!copied) wrote = std::unexpected(copied.error());
  }
  std::error_code ec;
  std::filesystem::remove_all(*dir, ec);
  return wrote;
}

Result<plan::OffsiteCheck> push(proc::Runner& runner, const plan::OffsiteRemote& remote,
                                const std::filesystem::path& folder, const std::string& name) {
  auto there = plan::offsite_path(remote.remote, name);
  auto checked = copy_and_check(runner, remote, folder, there);
  if (!checked) return checked;
  if (auto marked = write_marker(runner, remote, there, name, *checked); !marked)
    return std::unexpected(marked.error());
  return checked;
}

// Every folder at the top of the remote path, with its size and the time of its newest
// file; one listing of two levels. Only folders holding the marker count as copies.
Result<std::vector<plan::OffsiteTarget>> list(proc::Runner& runner, const plan::OffsiteRemote& remote) {
  auto done = run(runner, remote, {"lsjson", "--recursive", "--max-depth", "2", "--files-only", "--", remote.remote},
                  fmt::format("listing {}", remote.remote));
  if (!done) {
    // A remote path that does not exist yet holds no copies (the first backup creates it).
    if (done.error().message.find("directory not found") != std::string::npos) return std::vector<plan::OffsiteTarget>{};
    return std::unexpected(done.error());
  }
  auto files = nlohmann::json::parse(done->out, nullptr, false);
  if (!files.is_array()) return fail(fmt::format("listing {}: rclone printed something that is not JSON", remote.remote));
  std::map<std::string, plan::OffsiteTarget> folders;
  std::map<std::string, bool> complete;
  for (const auto& f : files) {
    auto path = f.value("Path", "");
    auto slash = path.find('/');
    if (slash == std::string::npos) continue;  // a file at the top is no target
    auto name = path.substr(0, slash);
    auto& t = folders[name];
    t.name = name;
    t.size_bytes += f.value("Size", 0ULL);
    if (auto when = parse_iso_utc(f.value("ModTime", "")); when && *when > t.modified) t.modified = *when;
    if (path.substr(slash + 1) == kMarker) complete[name] = true;
  }
  std::vector<plan::OffsiteTarget> out;
  for (auto& [name, t] : folders) {
    t.complete = complete[name];
    out.push_back(std::move(t));
  }
  return out;
}

// The copy comes with the marker the push wrote last: the files and bytes it recorded must
// be what arrived (an object deleted or truncated on the remote is caught here, before any
// archive is read). The marker does not stay in the local copy.
Result<plan::OffsiteCheck> fetch(proc::Runner& runner, const plan::OffsiteRemote& remote,
                                 const std::string& name, const std::filesystem::path& into) {
  auto there = plan::offsite_path(remote.remote, name);
  auto done = run(runner, remote, {"copy", "--", there, into.string()},
                  fmt::format("downloading {}", there));
  if (!done) return std::unexpected(done.error());
  auto text = read_file(into / kMarker);
  if (!text) return fail(fmt::format("{} holds no {}: its upload never finished", there, kMarker));
  auto marker = nlohmann::json::parse(*text, nullptr, false);
  std::error_code ec;
  std::filesystem::remove(into / kMarker, ec);
  plan::OffsiteCheck got{.method = marker.is_object() ? marker.value("checked", "") : ""};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(into))
    if (entry.is_regular_file()) {
      got.bytes += entry.file_size();
      ++got.files;
    }
  if (!marker.is_object() || marker.value("files", -1) != got.files ||
      marker.value("bytes", 0ULL) != got.bytes)
    return fail(fmt::format(
        "the copy at {} is not what was pushed: {} file(s), {} bytes arrived; the push recorded "
        "{}",
        there, got.files, got.bytes, marker.is_object() ? marker.dump() : "an unreadable marker"));
  return got;
}

Status remove(proc::Runner& runner, const plan::OffsiteRemote& remote, const std::string& name) {
  auto there = plan::offsite_path(remote.remote, name);
  auto done = run(runner, remote, {"purge", "--", there}, fmt::format("removing {}", there));
  if (!done) return std::unexpected(done.error());
  return ok();
}

}  // namespace

Status copy_object(proc::Runner& runner, const plan::OffsiteRemote& remote, const std::string& key,
                   const std::filesystem::path& to) {
  auto there = plan::offsite_path(remote.remote, key);
  auto done = run(runner, remote, {"copyto", "--", there, to.string()},
                  fmt::format("downloading {}", there));
  if (!done) return std::unexpected(done.error());
  return ok();
}

plan::OffsiteTransport transport(proc::Runner& runner) {
  plan::OffsiteTransport t;
  t.push = [&runner](const plan::OffsiteRemote& remote, const std::filesystem::path& folder,
                     const std::string& name) { return push(runner, remote, folder, name); };
  t.list = [&runner](const plan::OffsiteRemote& remote) { return list(runner, remote); };
  t.fetch = [&runner](const plan::OffsiteRemote& remote, const std::string& name, const std::filesystem::path& into) {
    return fetch(runner, remote, name, into);
  };
  t.remove = [&runner](const plan::OffsiteRemote& remote, const std::string& name) {
    return remove(runner, remote, name);
  };
  return t;
}

}  // namespace rollback::actions::rclone

namespace rollback::actions {

// The off-host transport of every plan's `offsite:`.
void register_rclone_transport(Registry& registry) {
  static proc::SystemRunner runner;
  registry.set_offsite(rclone::transport(runner));
}

}  // namespace rollback::actions
