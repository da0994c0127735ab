// Reading and changing one stored message by id: its row with envelope, session facts and
// mailboxes (GetMessage, UpdateMessage), its raw bytes in chunks (GetRawMessage streams a
// 20 MB message without holding it twice), deleting it, and setting its read flag.
//
// It sits between server/message_service and PostgreSQL; listing and searching are in
// storage/message_store.h. Every function blocks on libpqxx: call them from the storage
// executor, never from a gRPC or Asio thread. Thread-safe (the pool is).
//
// An id that is not a UUID names no message: such calls return NotFound, like a missing id.

#ifndef MAILROOM_STORAGE_MESSAGE_READER_H_
#define MAILROOM_STORAGE_MESSAGE_READER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/ingest_rows.h"
#include "storage/message_store.h"
#include "storage/pool.h"

namespace mailroom::storage {

// A message row as GetMessage needs it: the summary plus the session facts of migration 0002.
struct MessageRecord {
  MessageSummaryRow summary{};
  std::string auth_mechanism{};  // empty without AUTH
  std::string client_address{};  // text form; empty when not received over SMTP
  std::string ehlo_name{};
  std::optional<TlsFacts> tls{};  // nullopt: plaintext session or not over SMTP
  // messages.routing as JSON text (an array of mailroom.v1.RoutingDecision); empty when
  // NULL (stored before routing existed).
  std::string routing{};
  // The message as received; read only when asked for (GetMessageRecord's `with_raw`).
  std::string raw{};
};

// Returns the message `id`, with its raw bytes when `with_raw` (in the same statement: one
// round trip to the database for GetMessage), or NotFound.
absl::StatusOr<MessageRecord> GetMessageRecord(ConnectionPool& pool, absl::string_view id,
                                               bool with_raw = false);

// Returns up to `length` raw bytes of message `id` from byte `offset` (0-based); fewer at the
// end, none past it. NotFound when there is no such message.
// REQUIRES: offset >= 0, length > 0.
absl::StatusOr<std::string> ReadRawChunk(ConnectionPool& pool, absl::string_view id, int64_t offset,
                                         int64_t length);

// Returns the whole raw message `id`, or NotFound.
absl::StatusOr<std::string> ReadRaw(ConnectionPool& pool, absl::string_view id);

// Deletes message `id` from every mailbox (recipients and links cascade). NotFound when
// there is no such message.
absl::Status DeleteMessage(ConnectionPool& pool, absl::string_view id);

// Sets the read flag of message `id` and returns the message as it is afterwards, or
// NotFound.
absl::StatusOr<MessageRecord> SetMessageRead(ConnectionPool& pool, absl::string_view id, bool read);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_READER_H_
