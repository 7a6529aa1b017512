// fs.checksum: write a SHA256SUMS for a backup, or verify one before restoring from it.
#include <fmt/format.h>

#include <filesystem>

#include <rollback/actions/adapters.hpp>
#include <rollback/util/checksums.hpp>

#include "fs_rehearse.hpp"

namespace rollback::actions {
namespace {

Outcome verify(const Params& p) {
  auto problems = verify_sha256sums(p.str("dir"), p.str("file", kChecksumFile));
  if (!problems) return Outcome::failure(problems.error().message);
  if (!problems->empty()) {
    std::string text;
    for (const auto& problem : *problems) text += (text.empty() ? "" : "; ") + problem;
    return Outcome::failure(fmt::format("{}/{} does not verify: {}", p.str("dir"),
                                        p.str("file", kChecksumFile), text));
  }
  return Outcome::success(fmt::format("{}/{} verifies", p.str("dir"), p.str("file", kChecksumFile)));
}

Outcome run_checksum(ActionContext&, const Params& p) {
  if (p.str("mode", "verify") == "verify") return verify(p);
  auto count = write_sha256sums(p.str("dir"), p.str("file", kChecksumFile));
  if (!count) return Outcome::failure(count.error().message);
  return Outcome::success(fmt::format("{}/{} lists {} files", p.str("dir"), p.str("file", kChecksumFile), *count));
}

}  // namespace

void register_checksum_action(Registry& registry) {
  registry.add(Action{
      .name = "fs.checksum",
      .summary = "write or verify a SHA256SUMS file",
      .params = {param("dir").required().names(plan::Names::Path)
                     .doc("the folder whose files are listed; the sums file lives in it"),
                 param("mode").required().choices({"write", "verify"})
                     .doc("write: hash every file below dir into the sums file; verify: check what it lists"),
                 param("file").names(plan::Names::Path)
                     .doc("the sums file's name, relative to dir (default SHA256SUMS)")},
      .describe =
          [](const Params& p) {
            return fmt::format("{} {}/{}", p.str("mode") == "write" ? "write" : "verify",
                               p.str("dir"), p.str("file", kChecksumFile));
          },
      .preflight =
          [](ActionContext&, const Params& p) {
            // Only verification reads something that must already exist.
            return p.str("mode") == "verify" ? verify(p) : Outcome::success();
          },
      .run = run_checksum,
      .rehearse = fs_rehearse::checksum,
  });
}

}  // namespace rollback::actions
