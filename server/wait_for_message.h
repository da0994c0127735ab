// The WaitForMessage call: a unary reactor that answers with the earliest matching message
// received at or after `since`, waiting for it if needed. It subscribes to
// server/message_events.h before its first query (so nothing committed meanwhile is
// missed), queries on the StorageExecutor, and queries again after each notification
// (coalesced: at most one query in flight per call). No thread is held while it waits: a
// grpc::Alarm ends it at the deadline and OnCancel when the client goes away.
//
// Thread-safety: the call's state is guarded by its own mutex; callbacks arrive from the
// hub thread, the executor, the alarm and gRPC in any order.

#ifndef MAILROOM_SERVER_WAIT_FOR_MESSAGE_H_
#define MAILROOM_SERVER_WAIT_FOR_MESSAGE_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "mailroom/v1/message_service.pb.h"
#include "server/message_events.h"
#include "server/storage_executor.h"
#include "storage/message_query.h"
#include "storage/pool.h"

namespace mailroom::server {

// The longest a call waits when the client set no (or a later) deadline.
inline constexpr absl::Duration kMaxWait = absl::Minutes(5);

struct WaitRequest {
  std::string mailbox{};  // empty: every mailbox
  storage::MessageFilter filter{};
  absl::Time since{};
  std::chrono::system_clock::time_point deadline{};  // already capped by kMaxWait
  int64_t max_response_bytes = 0;                    // as GetMessage
};

// Starts the wait and returns its reactor (owned by gRPC). REQUIRES: pool, executor and
// events outlive the call.
grpc::ServerUnaryReactor* StartWaitForMessage(storage::ConnectionPool& pool,
                                              StorageExecutor& executor, MessageEvents& events,
                                              WaitRequest request,
                                              v1::WaitForMessageResponse* response);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_WAIT_FOR_MESSAGE_H_
