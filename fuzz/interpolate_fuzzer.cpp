// Fuzz target: arbitrary text through the `${...}` scanner and substitution. Checks the
// invariants the loader relies on: offsets are inside the text, the scanner and
// references() agree, and a text without references interpolates to itself ($${ aside).
#include <cstddef>
#include <cstdint>
#include <string>

#include <rollback/plan/interpolate.hpp>

#include "fuzz_driver.hpp"

using namespace rollback;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto scan = plan::scan_references(text);
  for (const auto& ref : scan.refs)
    if (ref.offset >= text.size() || text.compare(ref.offset, 2, "${") != 0) __builtin_trap();
  if (!scan.error.empty() && scan.error_offset > text.size()) __builtin_trap();

  auto refs = plan::references(text);
  if (refs.has_value() != scan.error.empty()) __builtin_trap();
  if (refs && refs->size() != scan.refs.size()) __builtin_trap();

  plan::Scope scope;
  scope.set_var("a", "A");
  scope.set_var("loop", "${loop}");
  scope.set_secret("s", "fuzz-secret");
  scope.set_builtin("run.id", "r1");
  auto out = plan::interpolate(text, scope);
  if (refs && refs->empty() && text.find("$${") == std::string::npos) {
    if (!out || *out != text) __builtin_trap();
  }
  (void)plan::truthy(text);
  return 0;
}
