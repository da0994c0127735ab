// The gRPC server of the process: listening address, message size limits, HTTP/2
// protection, health checking, reflection and request metrics, all from `api.*` config.
//
// Debian's gRPC 1.51 predates the 2023 HTTP/2 rapid-reset fixes, so the stream and
// connection limits here are the defence: a cap on concurrent streams per connection,
// keepalive enforcement (clients that ping too often are disconnected), and a maximum
// connection age so that no single connection lives forever.
#ifndef MAILROOM_SERVER_GRPC_SERVER_H_
#define MAILROOM_SERVER_GRPC_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/settings.h"
#include "server/metrics.h"

namespace mailroom::server {

struct RunningGrpcServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // The bound port (useful when the config asked for port 0).
};

// Starts serving `services` (which must outlive the server) on `config.address`, with the
// standard health service (NOT_SERVING until told otherwise) and, if configured, reflection.
// Returns Unavailable when the address cannot be bound.
absl::StatusOr<RunningGrpcServer> StartGrpcServer(const config::ApiConfig& config,
                                                  const std::vector<grpc::Service*>& services,
                                                  Metrics* metrics);

// Marks every service SERVING or NOT_SERVING in the health service.
void SetServing(grpc::Server& server, bool serving);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_GRPC_SERVER_H_
