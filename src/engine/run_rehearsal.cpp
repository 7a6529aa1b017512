// A rehearsal's verdict (src/engine/run_session.hpp): its copies go, whatever happened, then
// the executor's result becomes the verdict (shared/spec.md: 0 proven, 4 unusable or nothing
// to rehearse, 1/5 failed, 130 cancelled or preempted).
#include "run_session.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include <rollback/util/fs.hpp>
#include <rollback/util/redact.hpp>
#include <rollback/util/text.hpp>

namespace rollback::engine::detail {

ExitCode conclude_rehearsal(const RunDeps& deps, PipelineRequest& r, Journal* journal, ExitCode code) {
  auto& rehearsal = *r.rehearsal;
  auto& record = r.run.record;
  rehearsal.remove_all(deps.runner, [&deps](std::string_view line) { deps.observer.log_line("rehearse", line); });
  if (journal)
    for (const auto& resource : rehearsal.made_so_far())
      (void)journal->append({{"event", "resource_released"}, {"step", "rehearse"}, {"action", "rehearsal"},
                             {"resource", resource}, {"by", "cleanup"}});
  record.rehearsal = true;
  record.extra["rehearsal"] = rehearsal.summary();
  bool verifies = std::any_of(r.plan.steps.begin(), r.plan.steps.end(),
                              [](const plan::Step& s) { return s.phase == plan::Phase::Verify; });
  const std::string untouched = "production was not touched and every copy was removed";
  if (code == ExitCode::Success && rehearsal.restores == 0) {
    code = ExitCode::PreflightFailed;
    record.result_message = fmt::format("nothing to rehearse: no restore step of plan {} can run against throwaway "
                                        "copies (the report says why each was skipped); {}",
                                        r.plan.name, untouched);
  } else if (code == ExitCode::Success && verifies && rehearsal.verifies == 0) {
    code = ExitCode::PreflightFailed;
    record.result_message = fmt::format("nothing verified: the target was restored into copies, but none of plan "
                                        "{}'s verify steps can run against them; {}",
                                        r.plan.name, untouched);
  } else if (code == ExitCode::Success) {
    std::string not_compared;
    if (!rehearsal.production_comparisons.empty())
      not_compared = fmt::format("; not compared with production: {}",
                                 fmt::join(rehearsal.production_comparisons, ", "));
    record.result_message = fmt::format(
        "rehearsal proved target {}: {} restore step(s) ran against throwaway copies "
        "and {} verification step(s) passed{}; {}",
        record.target_name, rehearsal.restores, rehearsal.verifies, not_compared, untouched);
  } else if (code == ExitCode::Interrupted) {
    auto by = read_file(r.run.run_dir / "preempted");
    record.result_message = by ? fmt::format("rehearsal cancelled: preempted by run {}; {}", trim(*by), untouched)
                               : fmt::format("rehearsal interrupted ({}); {}", record.result_message, untouched);
  } else {
    record.result_message =
        fmt::format("rehearsal of target {} failed: {}; {}", record.target_name, record.result_message, untouched);
  }
  record.result = code;
  record.result_message = redact(record.result_message);
  if (journal) (void)journal->append(run_finished_event(record));
  return code;
}

}  // namespace rollback::engine::detail
