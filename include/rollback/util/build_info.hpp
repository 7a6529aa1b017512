// What a binary was built from, for `rollback version`.
#pragma once

namespace rollback {

// The git commit of the source tree at build time (12 hex digits, "-dirty" when tracked
// files differed from it), or "unknown" when the tree was no git checkout.
const char* build_commit();

}  // namespace rollback
