// The change notifications WatchMessages is fed with, as PostgreSQL delivers them: new
// messages on kMessagesChannel (storage/message_wait.h, sent by the ingest path after its
// COMMIT) and read-flag changes and removals from mailboxes on kChangesChannel (sent by the
// triggers of migration 0005, whichever path or replica made the change). This unit names
// the channel and turns payloads into typed values; server/message_events.h listens.
//
// Thread-safety: pure functions over plain values.

#ifndef MAILROOM_STORAGE_CHANGE_EVENTS_H_
#define MAILROOM_STORAGE_CHANGE_EVENTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mailroom::storage {

// The channel of migration 0005's triggers. Payloads:
//   u <time_us> <id>,<id>,...                      the read flag of these messages changed
//   d <time_us> <mailbox_id> <id>,<id>,... <name>  these messages left mailbox <name>
inline constexpr char kChangesChannel[] = "mailroom_message_changes";

enum class ChangeKind {
  kCreated,  // new messages (kMessagesChannel)
  kUpdated,  // the read flag changed
  kDeleted,  // removed from a mailbox (and deleted when in no mailbox any more)
};

// One notification.
struct MessageChange {
  ChangeKind kind = ChangeKind::kCreated;
  // When the database made the change (its clock); nullopt for kCreated, whose time is the
  // message's receive time.
  std::optional<absl::Time> time{};
  std::vector<std::string> ids{};  // message ids (UUIDs), in the order sent
  std::string mailbox_id{};        // kDeleted: the mailbox the messages left
  std::string mailbox_name{};      // kDeleted: its name when they left it

  friend bool operator==(const MessageChange&, const MessageChange&) = default;
};

// Parses a kMessagesChannel payload (comma-separated ids) into a kCreated change.
// InvalidArgument when an element is not a message id or there is none.
absl::StatusOr<MessageChange> ParseCreatedPayload(absl::string_view payload);

// Parses a kChangesChannel payload. InvalidArgument naming the problem when it does not
// follow the format above (an unknown kind, a bad time, id or mailbox id, no ids, no name).
absl::StatusOr<MessageChange> ParseChangePayload(absl::string_view payload);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_CHANGE_EVENTS_H_
