// Process signals: SIGTERM (Kubernetes) and SIGINT (Ctrl-C) stop the process gracefully;
// SIGHUP reloads what can be reloaded (TLS certificates).
//
// BlockProcessSignals() must run in main before any thread starts, so that every thread
// inherits the mask and the signals stay pending until WaitForSignal() takes them
// synchronously (no async-signal-safety concerns anywhere else).
#ifndef MAILROOM_SERVER_PROCESS_SIGNALS_H_
#define MAILROOM_SERVER_PROCESS_SIGNALS_H_

namespace mailroom::server {

void BlockProcessSignals();

// Blocks until SIGTERM, SIGINT or SIGHUP arrives; returns the signal number.
int WaitForSignal();

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_PROCESS_SIGNALS_H_
