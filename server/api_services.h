// The services of the public v1 API (proto/mailroom/v1) that this build serves.
//
// Every service of the API is always registered, so reflection shows the whole API; the
// services whose issue has not landed yet answer UNIMPLEMENTED and say when they will work.
#ifndef MAILROOM_SERVER_API_SERVICES_H_
#define MAILROOM_SERVER_API_SERVICES_H_

#include <grpcpp/impl/codegen/service_type.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/message_events.h"
#include "server/storage_executor.h"
#include "storage/pool.h"

namespace mailroom::server {

class ApiServices {
 public:
  // Internal when the binary lacks a service's descriptor (a build problem).
  // The implemented services read `pool` on their own storage executor and answer
  // RESOURCE_EXHAUSTED for a response above `max_response_bytes` (0: no limit).
  // `listen_conninfo` is the libpq connection string of the dedicated connection that
  // listens for new messages (server/message_events.h). `config_changed` runs after each
  // change to users or mailboxes made through the API, so that routing on this replica
  // follows at once (other replicas poll).
  // REQUIRES: pool outlives the ApiServices.
  static absl::StatusOr<std::unique_ptr<ApiServices>> Create(storage::ConnectionPool* pool,
                                                             std::string listen_conninfo,
                                                             int64_t max_response_bytes,
                                                             std::function<void()> config_changed);

  // REQUIRES: the ApiServices outlives the server they are registered with.
  std::vector<grpc::Service*> services() const;

  // Ends the open WatchMessages streams (UNAVAILABLE, with a hint to resume) and any opened
  // later, so that a graceful shutdown does not wait its whole grace period for streams
  // that never end on their own. Call it before shutting the gRPC server down.
  void EndStreams();

 private:
  ApiServices() = default;

  // First, so that it is destroyed last: the services' waiting calls hold subscriptions.
  std::unique_ptr<MessageEvents> events_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  // Declared after services_ so that it is destroyed first: it drains its tasks (which use
  // the services) before they go.
  std::unique_ptr<StorageExecutor> executor_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_API_SERVICES_H_
