// How the fs actions rehearse (fs_rehearse.cpp; include/rollback/actions/rehearsal.hpp): what
// a step writes goes into the rehearsal's copy of its folder (Rehearsal::mirror); what it
// reads is the copy when an earlier step wrote one, else production's. Private to
// src/actions/fs*.cpp.
#pragma once

#include <rollback/actions/rehearsal.hpp>

namespace rollback::actions::fs_rehearse {

Result<Rehearsed> copy(Rehearsal& r, ActionContext& ctx, const Params& p);      // fs.copy: into the copy of `to`
Result<Rehearsed> move(Rehearsal& r, ActionContext& ctx, const Params& p);      // fs.move: within the copies
Result<Rehearsed> mkdir(Rehearsal& r, ActionContext& ctx, const Params& p);     // fs.mkdir
Result<Rehearsed> remove(Rehearsal& r, ActionContext& ctx, const Params& p);    // fs.remove: in the copy
Result<Rehearsed> latest(Rehearsal& r, ActionContext& ctx, const Params& p);    // fs.latest: in the copy, if any
Result<Rehearsed> checksum(Rehearsal& r, ActionContext& ctx, const Params& p);  // fs.checksum

}  // namespace rollback::actions::fs_rehearse
