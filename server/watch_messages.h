// The WatchMessages call: a server-streaming reactor per stream that sends message events
// (created, updated, deleted) filtered by mailbox and query, fed by the MessageEvents hub
// (PostgreSQL LISTEN/NOTIFY, so changes made through any replica arrive).
//
// A stream goes through these steps:
//   1. it subscribes to the hub and resolves the mailbox name (NOT_FOUND ends it);
//   2. once the hub listens, it replays, oldest first, a `created` event for every stored
//      match received at or after `since` (when set), page by page as the client reads;
//   3. it sends `subscribed`;
//   4. it sends the live events: the ids of each batch of created/updated notifications are
//      checked against mailbox and query with one statement (storage/message_match.h);
//      deletions are filtered by mailbox only. Changes heard during steps 1-3 wait and are
//      sent after `subscribed`; a `created` already replayed is not sent twice.
// Every statement runs on the StorageExecutor; no thread waits for the client.
//
// The stream ends with RESOURCE_EXHAUSTED when the client falls behind by more than the
// limits below (the hub and capture never wait for it), with UNAVAILABLE when the hub loses
// its connection (changes may have been missed) or the server shuts down (MessageEvents
// Close()), with CANCELLED when the client cancels. The messages tell the client to resume
// with `since`.
//
// Thread-safety: the stream's state is guarded by its own mutex; notices arrive from the
// hub, query results from the executor and write completions from gRPC, in any order.

#ifndef MAILROOM_SERVER_WATCH_MESSAGES_H_
#define MAILROOM_SERVER_WATCH_MESSAGES_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "mailroom/v1/message_service.pb.h"
#include "server/message_events.h"
#include "server/storage_executor.h"
#include "storage/message_query.h"
#include "storage/pool.h"

namespace mailroom::server {

struct WatchRequest {
  std::string mailbox{};  // a mailbox name; empty: every mailbox
  storage::MessageFilter filter{};
  std::optional<absl::Time> since{};  // replay from here; nullopt: no replay
};

// How far a client may fall behind before its stream ends with RESOURCE_EXHAUSTED.
struct WatchLimits {
  // Events waiting to be written (gRPC flow control holds them while the client does not
  // read), counted and in bytes.
  size_t max_queued_events = 1000;
  size_t max_queued_bytes = size_t{4} << 20;
  // Ids heard from the hub but not yet checked against the query: a bound on the memory a
  // stream holds while a long replay runs or the database is slow.
  size_t max_pending_ids = 100000;
};

// Starts the stream and returns its reactor (owned by gRPC).
// REQUIRES: pool, executor and events outlive the call.
grpc::ServerWriteReactor<v1::WatchMessagesResponse>* StartWatchMessages(
    storage::ConnectionPool& pool, StorageExecutor& executor, MessageEvents& events,
    WatchRequest request, WatchLimits limits = {});

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_WATCH_MESSAGES_H_
