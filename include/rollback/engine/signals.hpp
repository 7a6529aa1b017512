// Ctrl-C, SIGTERM and SIGHUP during a run: the first one asks every running child to stop
// (proc::request_cancel), the executor marks the step interrupted, writes the journal and
// the report, and exits 130. A second SIGINT is not caught: it kills us at once, for an
// operator who must force quit.
#pragma once

namespace rollback::engine {

// Installs the handlers (idempotent). Returns false when sigaction failed.
bool install_signal_handlers();
// Restores the dispositions that were in place before install_signal_handlers().
void restore_signal_handlers();

// Installs on construction, restores on destruction.
class SignalGuard {
 public:
  SignalGuard() { install_signal_handlers(); }
  ~SignalGuard() { restore_signal_handlers(); }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
};

}  // namespace rollback::engine
