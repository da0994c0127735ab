// Finding the message a WaitForMessage call waits for: the earliest received message in a
// mailbox (or anywhere) that matches a filter and arrived at or after a given time. The
// server runs it once when the call starts and again after every new-message notification
// (server/message_events.h), so it must stay one cheap indexed query.
//
// Thread-safety: thread-safe; blocks on the database (run it on the storage executor).

#ifndef MAILROOM_STORAGE_MESSAGE_WAIT_H_
#define MAILROOM_STORAGE_MESSAGE_WAIT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_query.h"
#include "storage/pool.h"

namespace mailroom::storage {

// The notification channel new messages are announced on, once their batch has committed.
// The payload is a comma-separated list of message ids.
inline constexpr char kMessagesChannel[] = "mailroom_messages";

// Returns the id of the earliest received message (ties broken by id) in `mailbox` (any
// mailbox when empty) matching `filter` with received_at >= `since`, or nullopt when there
// is none yet. NotFound "mailbox: ..." when the mailbox does not exist.
absl::StatusOr<std::optional<std::string>> FindFirstMessage(ConnectionPool& pool,
                                                            absl::string_view mailbox,
                                                            const MessageFilter& filter,
                                                            absl::Time since);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_WAIT_H_
