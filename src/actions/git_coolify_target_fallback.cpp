// A weak stand-in for plan::register_target_source until src/plan/target.cpp (another
// branch) provides the real one, which overrides it at link time. Delete this file once
// that branch is merged.
#include <rollback/plan/target.hpp>

namespace rollback::plan {

[[gnu::weak]] void register_target_source(const std::string&, TargetLister) {}

}  // namespace rollback::plan
