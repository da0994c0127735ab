// BatchInserter: writes one group-commit batch (messages with their recipients and mailbox
// links, and finished sessions) in one statement, whatever the batch size: data-modifying
// CTEs, each an INSERT ... SELECT FROM unnest(<one array per column>),
//
//   messages            with the raw bodies as N binary bytea parameters picked by ordinal
//   addresses, message_addresses
//                       the address dictionary (migration 0007): new entries and links
//   message_recipients
//   message_mailboxes
//   smtp_sessions       ... ON CONFLICT (id) DO NOTHING
//
// so a batch of 50 costs one round trip instead of 200, and run outside a transaction block
// the statement commits by itself: no BEGIN or COMMIT round trips either. Columns other
// than raw travel as text array literals (storage/text_encoding.h); raw travels in binary
// (no hex or escape encoding: half the bytes on the wire and no server-side parsing), which
// libpqxx 6.4 only offers through pqxx::binarystring, so each body is copied once into it
// just before the statement and released right after. The statement depends on N, so there
// is one prepared statement per batch size used, built once per inserter.
//
// Sessions use ON CONFLICT DO NOTHING so that a session recorded twice (a retry after an
// in-doubt commit) cannot fail the messages that share its batch.
//
// Thread-safety: not thread-safe; one inserter per writer thread (it caches statement text
// for that thread's connection).

#ifndef MAILROOM_STORAGE_INGEST_BATCH_H_
#define MAILROOM_STORAGE_INGEST_BATCH_H_

#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "storage/ingest_rows.h"

namespace mailroom::storage {

class BatchInserter {
 public:
  // Inserts `messages` and `sessions` with one statement in `txn`: a transaction the caller
  // commits, or a pqxx::nontransaction, where the statement commits itself. Throws what
  // libpqxx throws (the caller maps it through storage/errors.h). Text values are cleaned up as
  // storage/ingest_rows.h says. REQUIRES: every message and session passed validation
  // (ValidateMessage, ValidateSession).
  void Insert(pqxx::transaction_base& txn, absl::Span<const NewMessage* const> messages,
              absl::Span<const NewSession* const> sessions);

  // Announces the messages' ids on kMessagesChannel (storage/message_wait.h) with one
  // statement in `txn`, a pqxx::nontransaction (the statement is its own transaction, with
  // synchronous_commit off) run after the messages' COMMIT. Not in the ingest transaction:
  // PostgreSQL serialises the commits of notifying transactions under one lock, held through
  // the WAL flush, which would undo group commit (100 KiB ingest fell from ~970 to ~730
  // messages/s). synchronous_commit is off: the notification need not survive a crash, the
  // messages already have.
  void NotifyNewMessages(pqxx::transaction_base& txn, absl::Span<const NewMessage* const> messages);

 private:
  // Each appends its finished array literals to `arrays`, in statement parameter order.
  static void AddMessageArrays(absl::Span<const NewMessage* const> messages,
                               std::vector<std::string>& arrays);
  static void AddRecipientArrays(absl::Span<const NewMessage* const> messages,
                                 std::vector<std::string>& arrays);
  static void AddMailboxLinkArrays(absl::Span<const NewMessage* const> messages,
                                   std::vector<std::string>& arrays);
  static void AddSessionArrays(absl::Span<const NewSession* const> sessions,
                               std::vector<std::string>& arrays);

  // The batch statement for n messages, built on first use; index n.
  const std::string& BatchSql(size_t n);

  std::vector<std::string> batch_sql_;
};

// Returns `time` as a timestamptz literal in UTC with microseconds
// ("2026-11-22 15:02:33.123456+00"); sub-microsecond digits are dropped.
std::string TimestampLiteral(absl::Time time);

// Returns the JSON array stored in smtp_sessions.transcript:
// [{"t": microseconds since started_at, "d": "C"|"S"|"I", "l": line}, ...].
std::string TranscriptJson(absl::Span<const TranscriptRow> transcript);

// Returns the JSON array stored in the parameters columns: [["SIZE","1234"], ...].
std::string ParametersJson(absl::Span<const SmtpParameter> parameters);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_INGEST_BATCH_H_
