// BatchInserter: writes one group-commit batch (messages with their recipients and mailbox
// links, and finished sessions) into an open transaction with a constant number of
// statements, whatever the batch size:
//
//   messages            one INSERT ... SELECT FROM unnest(<one array per column>), with the
//                       raw bodies as N binary bytea parameters picked by ordinal
//   message_recipients  one INSERT ... unnest
//   message_mailboxes   one INSERT ... unnest
//   smtp_sessions       one INSERT ... unnest ... ON CONFLICT (id) DO NOTHING
//
// so a batch of 50 costs four round trips instead of 200. Columns other than raw travel as
// text array literals (storage/text_encoding.h); raw travels in binary (no hex or escape
// encoding: half the bytes on the wire and no server-side parsing), which libpqxx 6.4 only
// offers through pqxx::binarystring, so each body is copied once into it just before the
// statement and released right after. The message statement depends on N, so there is one
// prepared statement per batch size used, built once per inserter.
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
  // Inserts `messages` and `sessions` in `txn`; the caller commits. Throws what libpqxx
  // throws (the caller maps it through storage/errors.h). Text values are cleaned up as
  // storage/ingest_rows.h says. REQUIRES: every message and session passed validation
  // (ValidateMessage, ValidateSession).
  void Insert(pqxx::transaction_base& txn, absl::Span<const NewMessage* const> messages,
              absl::Span<const NewSession* const> sessions);

  // Announces the messages' ids on kMessagesChannel (storage/message_wait.h), in `txn`, a
  // transaction of its own run after the messages' COMMIT. Not in the ingest transaction:
  // PostgreSQL serialises the commits of notifying transactions under one lock, held through
  // the WAL flush, which would undo group commit (100 KiB ingest fell from ~970 to ~730
  // messages/s). The caller may run `txn` with synchronous_commit off: the notification
  // need not survive a crash, the messages already have.
  void NotifyNewMessages(pqxx::transaction_base& txn, absl::Span<const NewMessage* const> messages);

 private:
  void InsertMessages(pqxx::transaction_base& txn, absl::Span<const NewMessage* const> messages);
  void InsertRecipients(pqxx::transaction_base& txn, absl::Span<const NewMessage* const> messages);
  void InsertMailboxLinks(pqxx::transaction_base& txn,
                          absl::Span<const NewMessage* const> messages);
  void InsertSessions(pqxx::transaction_base& txn, absl::Span<const NewSession* const> sessions);

  // The messages statement for n rows, built on first use; index n - 1.
  const std::string& MessageSql(size_t n);

  std::vector<std::string> message_sql_;
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
