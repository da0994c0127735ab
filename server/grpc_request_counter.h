// A gRPC server interceptor that counts every finished call in Metrics, by method and
// status code. Installed on the server builder; runs on gRPC's threads and only bumps a
// counter, so it adds no blocking work to any call.
#ifndef MAILROOM_SERVER_GRPC_REQUEST_COUNTER_H_
#define MAILROOM_SERVER_GRPC_REQUEST_COUNTER_H_

#include <grpcpp/support/server_interceptor.h>

#include "server/metrics.h"

namespace mailroom::server {

class GrpcRequestCounterFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // REQUIRES: `metrics` outlives the server.
  explicit GrpcRequestCounterFactory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* const metrics_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_GRPC_REQUEST_COUNTER_H_
