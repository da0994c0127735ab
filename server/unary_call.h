// How the API's unary RPCs finish: at once on the gRPC thread (a request that fails
// validation), or on the storage executor after the blocking libpqxx work, so that no gRPC
// callback thread ever waits for PostgreSQL.
#ifndef MAILROOM_SERVER_UNARY_CALL_H_
#define MAILROOM_SERVER_UNARY_CALL_H_

#include <grpcpp/support/server_callback.h>

#include <utility>

#include "absl/status/status.h"
#include "server/grpc_status.h"
#include "server/storage_executor.h"

namespace mailroom::server {

// Finishes the call with `status` on the calling thread.
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                           const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Runs `work` (returning absl::Status) on the executor and finishes the call with it.
template <typename Work>
grpc::ServerUnaryReactor* FinishOnExecutor(grpc::CallbackServerContext* context,
                                           StorageExecutor& executor, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor.Submit(
      [reactor, work = std::move(work)]() mutable { reactor->Finish(ToGrpcStatus(work())); });
  return reactor;
}

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_UNARY_CALL_H_
