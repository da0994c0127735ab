// Sends gRPC's own log lines (gpr_log) through the process Logger, so that they share its
// format (JSON lines included) instead of gRPC's private stderr format.
//
// gRPC takes a plain function pointer, so the Logger is held in a process-wide pointer.
#ifndef MAILROOM_SERVER_GRPC_LOG_BRIDGE_H_
#define MAILROOM_SERVER_GRPC_LOG_BRIDGE_H_

#include "server/logger.h"

namespace mailroom::server {

// REQUIRES: `logger` outlives every gRPC object of the process (call from main, once).
void RouteGrpcLogsTo(Logger* logger);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_GRPC_LOG_BRIDGE_H_
