// Mailboxes in PostgreSQL: the storage side of MailboxService (create, get, list, update,
// delete) and of the mailboxes declared in the configuration file (UpsertMailbox).
//
// Routing rules are opaque here: a mailbox carries them as the text of a JSON array of
// mailroom.v1.RoutingRule in protobuf JSON with the proto field names (migration 0004), made
// and read by the server (server/mailbox_rules_json.h), so storage links no protobuf.
//
// Every change commits together with `NOTIFY mailroom_routing, 'mailboxes'`, which tells the
// routing table of every replica to reload; a rolled-back change notifies nobody.
//
// The `default` mailbox (storage/schema.h) always exists: it cannot be renamed, cannot hold
// rules and cannot be deleted. Lists come in routing order: position, then name, `default`
// last whatever its position, with keyset pagination on that order.
//
// message_count and unread_count are counted when read, from message_mailboxes joined to
// messages (is_read), one statement per page: cheap for the mailboxes of a test suite, but
// linear in the mailbox's size. Measured with 1M synthetic messages (2 KB rows, 256 MB
// shared_buffers, on a busy 2-core machine): ~15-25 ms for a 1k-message mailbox, 5-9 s for a
// 100k one (one random messages read per link) and 7-9 s for a 1M one (a hash join over all
// of messages). Constant-time counts need counters kept on write (a migration).
//
// Thread-safety: the functions are thread-safe; they block on the database (run them on the
// storage executor, never on a gRPC or I/O thread).

#ifndef MAILROOM_STORAGE_MAILBOX_STORE_H_
#define MAILROOM_STORAGE_MAILBOX_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/pool.h"
#include "storage/routing_config.h"

namespace mailroom::storage {

inline constexpr size_t kMaxMailboxNameLength = 64;
inline constexpr size_t kMaxMailboxDescriptionLength = 1024;
// The column is an int; the API's int64 is limited to it.
inline constexpr int64_t kMaxMailboxMaxMessages = 2147483647;
inline constexpr int kDefaultMailboxPageSize = 100;
inline constexpr int kMaxMailboxPageSize = 1000;
inline constexpr char kMailboxesChanged[] = "mailboxes";

// A mailbox as stored, with its message counts.
struct MailboxRow {
  std::string id{};
  std::string name{};
  std::string description{};
  int position = 0;
  int64_t max_messages = 0;       // 0: no limit of its own (the column is NULL)
  std::string rules_json = "[]";  // a JSON array (PostgreSQL's jsonb text form)
  int64_t message_count = 0;
  int64_t unread_count = 0;
  absl::Time created_at{};  // microsecond precision
  absl::Time updated_at{};
};

// The values a mailbox is created (or upserted) with.
struct MailboxValues {
  std::string name{};
  std::string description{};
  int position = 0;
  int64_t max_messages = 0;  // 0: no limit
  std::string rules_json = "[]";
};

// The fields UpdateMailbox changes: those that are set.
struct MailboxUpdate {
  std::optional<std::string> name{};
  std::optional<std::string> description{};
  std::optional<int> position{};
  std::optional<int64_t> max_messages{};
  std::optional<std::string> rules_json{};  // replaces the whole list

  bool Empty() const;
};

// Which mailbox a call is about: by id, or by name when the id is empty.
struct MailboxKey {
  std::string id{};
  std::string name{};

  static MailboxKey ById(std::string id) { return {.id = std::move(id), .name = {}}; }
  static MailboxKey ByName(std::string name) { return {.id = {}, .name = std::move(name)}; }
};

struct MailboxPage {
  std::vector<MailboxRow> mailboxes{};  // in routing order
  std::string next_page_token{};        // empty on the last page
};

// What DeleteMailbox removed.
struct MailboxDeletion {
  int64_t messages_unlinked = 0;  // messages that were in the mailbox
  int64_t messages_deleted = 0;   // of those, the ones that were in no other mailbox
};

struct UpsertedMailbox {
  MailboxRow mailbox{};
  UpsertOutcome outcome = UpsertOutcome::kUnchanged;
};

// Returns OK when `name` is a valid mailbox name (1 to 64 characters of [a-z0-9._-], the first
// a letter or a digit), else InvalidArgument "mailbox.name: ...".
absl::Status ValidateMailboxName(absl::string_view name);
// InvalidArgument "mailbox.description: ..." above 1024 characters (UTF-8 code points).
absl::Status ValidateMailboxDescription(absl::string_view description);
// InvalidArgument "mailbox.max_messages: ..." when negative or above kMaxMailboxMaxMessages.
absl::Status ValidateMailboxMaxMessages(int64_t max_messages);
// The three checks above on every field of `values`.
absl::Status ValidateMailboxValues(const MailboxValues& values);

// Creates a mailbox with a new id. Returns InvalidArgument for invalid values (see
// ValidateMailboxValues, and "mailbox.rules: ..." when rules_json is not a JSON array),
// AlreadyExists "mailbox.name: ..." when the name is taken; the pool's statuses for database
// errors.
absl::StatusOr<MailboxRow> CreateMailbox(ConnectionPool& pool, const MailboxValues& values);

// Returns the mailbox `key` names with its counts. Returns InvalidArgument "id: ..." for an id
// that is not a UUID, "id: required" when both id and name are empty; NotFound when there is
// no such mailbox.
absl::StatusOr<MailboxRow> GetMailbox(ConnectionPool& pool, const MailboxKey& key);

// Returns one page of mailboxes in routing order, each with its counts. `page_size` 0 means
// kDefaultMailboxPageSize. Returns InvalidArgument "page_size: ..." outside
// 0..kMaxMailboxPageSize and "page_token: ..." for a token this function did not make.
// Paging is keyset based on (default last, position, name): a mailbox created, moved or
// renamed between two calls shows where it now belongs, and none is repeated or skipped
// unless it moved across the page boundary.
absl::StatusOr<MailboxPage> ListMailboxes(ConnectionPool& pool, int page_size,
                                          absl::string_view page_token);

// Changes the fields set in `update` on mailbox `key`, bumps updated_at and returns the
// mailbox after the change. Returns InvalidArgument for an empty update, an invalid value, a
// new name or non-empty rules for the `default` mailbox; NotFound when there is no such
// mailbox; AlreadyExists "mailbox.name: ..." when the new name is taken.
absl::StatusOr<MailboxRow> UpdateMailbox(ConnectionPool& pool, const MailboxKey& key,
                                         const MailboxUpdate& update);

// Deletes mailbox `key` in one transaction. Without `force`, only an empty mailbox is
// deleted; with it, the mailbox's messages are removed from it and those then in no other
// mailbox are deleted. Users whose default mailbox it was get none (the foreign key sets it
// NULL). Returns FailedPrecondition for the `default` mailbox and, without force, for a
// mailbox with messages; NotFound when there is no such mailbox. The mailbox row is locked
// first, so mail being filed into it concurrently is either counted or fails its own
// transaction (foreign key), never left in a deleted mailbox.
absl::StatusOr<MailboxDeletion> DeleteMailbox(ConnectionPool& pool, const MailboxKey& key,
                                              bool force);

// Creates mailbox `values.name` or sets its fields to `values`, atomically
// (INSERT ... ON CONFLICT (name) DO UPDATE), so that replicas applying the same configuration
// at once neither fail nor duplicate it. A mailbox that already has these values is left
// alone (updated_at kept, no NOTIFY). Returns InvalidArgument for invalid values and for
// rules on `default`.
absl::StatusOr<UpsertedMailbox> UpsertMailbox(ConnectionPool& pool, const MailboxValues& values);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MAILBOX_STORE_H_
