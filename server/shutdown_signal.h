// Shutdown signals: SIGTERM (Kubernetes) and SIGINT (Ctrl-C) end the process gracefully.
//
// BlockShutdownSignals() must run in main before any thread starts, so that every thread
// inherits the mask and the signals stay pending until WaitForShutdownSignal() takes them
// synchronously (no async-signal-safety concerns anywhere else).
#ifndef MAILROOM_SERVER_SHUTDOWN_SIGNAL_H_
#define MAILROOM_SERVER_SHUTDOWN_SIGNAL_H_

namespace mailroom::server {

void BlockShutdownSignals();

// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForShutdownSignal();

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_SHUTDOWN_SIGNAL_H_
