#include <rollback/engine/signals.hpp>

#include <csignal>

#include <rollback/proc/runner.hpp>

namespace rollback::engine {
namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3];
bool g_installed = false;

// Only async-signal-safe calls here: request_cancel() is an atomic store and a write(2);
// sigaction(2) is async-signal-safe too.
void on_signal(int signo) {
  proc::request_cancel();
  if (signo == SIGINT) {
    // The next Ctrl-C gets the default action: the operator can always force quit.
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(SIGINT, &dfl, nullptr);
  }
}

}  // namespace

bool install_signal_handlers() {
  if (g_installed) return true;
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking call returns EINTR and notices the cancel
  bool all = true;
  for (int i = 0; i < 3; ++i) all = ::sigaction(kSignals[i], &sa, &g_previous[i]) == 0 && all;
  g_installed = true;
  return all;
}

void restore_signal_handlers() {
  if (!g_installed) return;
  for (int i = 0; i < 3; ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
  g_installed = false;
}

}  // namespace rollback::engine
