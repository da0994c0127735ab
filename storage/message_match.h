// The storage side of MessageService.WatchMessages: which of the messages a notification
// names match a watch's mailbox and query (one statement per notification batch, however
// many ids it holds), and the pages of the `since` replay, oldest first. Both return
// summaries as ListMessages does (storage/message_store.h), mailboxes, envelope parameters
// and recipients included.
//
// Thread-safety: thread-safe; every function blocks on the database (run it on the storage
// executor, never on a gRPC thread).

#ifndef MAILROOM_STORAGE_MESSAGE_MATCH_H_
#define MAILROOM_STORAGE_MESSAGE_MATCH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "storage/message_query.h"
#include "storage/message_store.h"
#include "storage/pool.h"

namespace mailroom::storage {

// The messages a watch is about: the mailbox by id (it may be renamed while watched) or
// every mailbox, and a filter.
struct WatchScope {
  std::optional<std::string> mailbox_id{};  // nullopt: every mailbox
  MessageFilter filter{};
};

// Where a replay page starts: strictly after this message in (received_at, id) order.
struct ReplayCursor {
  absl::Time received_at{};
  std::string id{};
};

// Returns the id of mailbox `name`, or NotFound "mailbox: no mailbox is named `name`".
absl::StatusOr<std::string> FindMailboxId(ConnectionPool& pool, absl::string_view name);

// Returns the summaries of the messages among `ids` that exist and are in `scope`, in no
// particular order. Ids that are not UUIDs are skipped. An empty `ids` returns none
// without a round trip.
absl::StatusOr<std::vector<MessageSummaryRow>> MatchMessages(ConnectionPool& pool,
                                                             absl::Span<const std::string> ids,
                                                             const WatchScope& scope);

// Returns up to `limit` summaries of the messages in `scope` received at or after `since`,
// oldest first by (received_at, id), starting after `after` when given. REQUIRES: limit > 0.
absl::StatusOr<std::vector<MessageSummaryRow>> ReplayPage(ConnectionPool& pool,
                                                          const WatchScope& scope, absl::Time since,
                                                          const std::optional<ReplayCursor>& after,
                                                          int limit);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_MATCH_H_
