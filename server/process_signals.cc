#include "server/process_signals.h"

#include <pthread.h>
#include <signal.h>

namespace mailroom::server {
namespace {

sigset_t ProcessSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockProcessSignals() {
  const sigset_t set = ProcessSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForSignal() {
  const sigset_t set = ProcessSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

}  // namespace mailroom::server
