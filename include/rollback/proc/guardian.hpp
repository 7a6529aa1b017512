// A guardian: a small process that runs an undo command when rollback dies before the work
// it guards is over, by any signal, SIGKILL included (a CI runner killing a deploy job must
// not leave a database paused). Rollback holds the write end of a pipe that only the
// guardian reads: the kernel closes it when rollback dies however it dies, the guardian
// reads end-of-file and runs the undo. Ending the guard normally says "done" first, and the
// guardian exits without running it.
//
// A pipe, not PR_SET_PDEATHSIG: that signal follows the death of the THREAD that forked,
// and a parallel group's worker threads end while the run goes on. The guardian leads its
// own session, so a Ctrl-C to the terminal's process group or a kill of rollback's group
// does not take it along before it has done its work; it ignores SIGTERM and SIGHUP.
#pragma once

#include <sys/types.h>

#include <memory>

#include <rollback/proc/runner.hpp>

namespace rollback::proc {

// A started guardian; destroying it ends the guard without running the undo.
class Guard {
 public:
  Guard(pid_t pid, int write_fd) : pid_(pid), write_fd_(write_fd) {}
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
  int write_fd_;
};

// Starts a guardian for `undo` (argv, env; its timeout bounds the undo, default 60 s).
// Errors when it cannot start (fork, pipe, program not found).
Result<std::unique_ptr<Guard>> start_guardian(const Command& undo);

}  // namespace rollback::proc
