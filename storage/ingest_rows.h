// The rows the capture path hands to storage/ingest_writer.h: a received message with its
// recipients and mailbox links (NewMessage), and a finished SMTP session with its transcript
// (NewSession). server/capture_sink.cc fills them from the SMTP engine's types; storage does
// not know the engine.
//
// A NewMessage does not own its raw bytes: `raw` points into memory that `raw_owner` keeps
// alive (typically the engine's shared ReceivedMessage), so a 30 MB message is never copied
// on its way to the database connection.
//
// Text fields may hold any bytes: the writer stores them as UTF-8 text, replacing every byte
// that is not part of valid UTF-8, and every NUL, with U+FFFD (SanitizeUtf8 in
// storage/text_encoding.h), because PostgreSQL rejects both in text and jsonb and one bad
// header must not fail the other messages of its batch. Raw bytes are stored unchanged.
//
// Every member has a default member initializer ({} included), so that designated
// initializers may leave any out without -Wmissing-field-initializers.
//
// Thread-safety: plain values; safe to read from several threads, not to mutate.

#ifndef MAILROOM_STORAGE_INGEST_ROWS_H_
#define MAILROOM_STORAGE_INGEST_ROWS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mailroom::storage {

// A MAIL or RCPT parameter such as SIZE=1234 ("SIZE", "1234") or SMTPUTF8 ("SMTPUTF8", "").
struct SmtpParameter {
  std::string keyword{};  // upper-cased
  std::string value{};    // as sent; empty for a parameter without value
};

// One accepted RCPT TO. Empty strings are stored as NULL.
struct NewRecipient {
  std::string address{};  // the forward-path without angle brackets
  std::string dsn_notify{};
  std::string dsn_orcpt{};
  std::vector<SmtpParameter> parameters{};  // in the order sent
};

// TLS of the session at the time of the message or at its end. Absent: plaintext.
struct TlsFacts {
  std::string protocol{};  // "TLSv1.3"
  std::string cipher{};    // "TLS_AES_256_GCM_SHA384"
  bool implicit = false;   // TLS from the first byte (465) rather than STARTTLS
};

// A message to store: one messages row, its message_recipients in order and one
// message_mailboxes row per mailbox. Empty strings and empty optionals are stored as NULL
// (envelope_from is NOT NULL: "" stands for the null reverse-path <>).
struct NewMessage {
  std::string id{};  // UUIDv7 (storage/ids.h)
  absl::Time received_at{};
  std::string session_id{};  // empty for messages not received over SMTP

  // Session facts (migration 0002), kept with the message after the session is pruned.
  std::string client_address{};  // "192.0.2.10", "2001:db8::1"; empty when not over SMTP
  std::string ehlo_name{};
  std::optional<TlsFacts> tls{};
  std::string auth_user{};
  std::string auth_mechanism{};

  // Envelope.
  std::string envelope_from{};
  std::vector<SmtpParameter> mail_parameters{};  // in the order sent
  std::string dsn_ret{};                         // "FULL", "HDRS" or empty
  std::string dsn_envid{};
  std::vector<NewRecipient> recipients{};  // position = index

  // Parsed summary; header values decoded to UTF-8. nullopt: header absent.
  std::optional<std::string> from_header{};
  std::optional<std::string> to_header{};
  std::optional<std::string> cc_header{};
  std::optional<std::string> subject{};
  std::optional<absl::Time> date_header{};  // nullopt: absent or unparseable
  std::optional<std::string> message_id_header{};
  bool has_attachments = false;
  // The decoded text body for full-text search (migration 0003), already capped by the
  // capture path; only its lexemes are stored (with the subject's), not the text itself.
  std::string search_text{};

  // Mailbox ids (UUIDs) the message is filed in, in routing order; each must exist.
  std::vector<std::string> mailbox_ids{};
  // Why it was filed there: messages.routing, a JSON array of mailroom.v1.RoutingDecision
  // (migration 0004) that server/ writes; stored as given. Empty: NULL (no decision).
  std::string routing{};

  // The message exactly as received; size_bytes is raw.size(). Not owned: `raw_owner` keeps
  // it alive until the writer has run the submission's Done.
  absl::string_view raw{};
  std::shared_ptr<const void> raw_owner{};
};

// One transcript line of a session.
struct TranscriptRow {
  enum class Direction : char { kClient = 'C', kServer = 'S', kInfo = 'I' };
  absl::Duration offset{};  // since NewSession::started_at; stored in whole microseconds
  Direction direction = Direction::kInfo;
  std::string text{};  // the line without CRLF
};

// A finished SMTP session: one smtp_sessions row. Empty strings are stored as NULL where the
// column is nullable.
struct NewSession {
  std::string id{};  // UUIDv7
  std::string listener{};
  std::string client_address{};  // an IPv4 or IPv6 address; required
  int client_port = 0;           // 0..65535
  std::string server_address{};
  std::string ehlo_name{};
  std::optional<TlsFacts> tls{};
  std::string auth_user{};
  std::string auth_mechanism{};
  absl::Time started_at{};
  absl::Time ended_at{};
  int message_count = 0;
  std::string outcome{};  // "quit", "client_dropped", "timeout", "error", "shutdown"
  std::string error{};    // empty when nothing went wrong
  int error_reply_count = 0;
  std::vector<TranscriptRow> transcript{};
};

// The values of smtp_sessions.outcome.
inline constexpr absl::string_view kOutcomeQuit = "quit";
inline constexpr absl::string_view kOutcomeClientDropped = "client_dropped";
inline constexpr absl::string_view kOutcomeTimeout = "timeout";
inline constexpr absl::string_view kOutcomeError = "error";
inline constexpr absl::string_view kOutcomeShutdown = "shutdown";

// Returns OK if `message` can be stored as far as can be told without the database, else
// InvalidArgument naming the field: ids and mailbox ids must be canonical UUIDs, a non-empty
// client_address an IP address, dsn_ret empty, "FULL" or "HDRS", and raw non-null when
// non-empty. Whether the mailboxes exist is only known at commit time.
absl::Status ValidateMessage(const NewMessage& message);

// Returns OK if `session` can be stored, else InvalidArgument naming the field: id a
// canonical UUID, client_address an IP address, client_port 0..65535, counts >= 0, outcome
// one of the kOutcome values.
absl::Status ValidateSession(const NewSession& session);

// Returns true if `address` is an IPv4 or IPv6 address in text form (what inet accepts for
// a host address; no prefix length).
bool IsIpAddress(absl::string_view address);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_INGEST_ROWS_H_
