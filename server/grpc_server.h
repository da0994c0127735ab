// The gRPC server of the process: listening address, TLS (and mTLS), bearer-token access
// control, message size limits, HTTP/2 protection, health checking, reflection and request
// metrics, all from `api.*` config. Access control and TLS are the credentials of the port
// (api_credentials.h), so they apply to every method of every registered service.
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
#include "server/api_tls.h"
#include "server/config/settings.h"
#include "server/logger.h"
#include "server/metrics.h"

namespace mailroom::server {

struct RunningGrpcServer {
  // Declared first so that it outlives the server: gRPC fetches certificates from it.
  std::shared_ptr<ApiTlsCertificates> tls;  // Null when the API speaks plaintext.
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // The bound port (useful when the config asked for port 0).
};

// Starts serving `services` (which must outlive the server) on `config.address`, with the
// standard health service (NOT_SERVING until told otherwise) and, if configured, reflection.
// Every call passes the token check of `config.tokens` first (api_access.h); with
// `config.tls.cert_file` the port speaks TLS. Returns InvalidArgument naming the setting and
// the file when a TLS file cannot be read or used, Unavailable when the address cannot be
// bound.
absl::StatusOr<RunningGrpcServer> StartGrpcServer(const config::ApiConfig& config,
                                                  const std::vector<grpc::Service*>& services,
                                                  Metrics* metrics);

// Logs how the API is protected: the token names and roles (never the tokens), TLS or mTLS
// with the certificate's fingerprint, and a warning when the API is open.
void LogApiAccess(const config::ApiConfig& config, const RunningGrpcServer& running,
                  Logger* logger);

// Reloads the API's TLS files (on SIGHUP) and logs the outcome; nothing without TLS.
void ReloadApiCertificates(const RunningGrpcServer& running, Logger* logger);

// Marks every service SERVING or NOT_SERVING in the health service.
void SetServing(grpc::Server& server, bool serving);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_GRPC_SERVER_H_
