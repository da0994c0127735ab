// Reading and deleting recorded SMTP sessions: the storage side of SessionService
// (ListSessions, GetSession, DeleteSessions). Sessions are written by the ingest path
// (storage/ingest_batch.h) when they end; this unit only reads and deletes them.
//
// Lists use keyset pagination on (started_at, id), newest first, with the tamper-evident
// tokens of storage/page_token.h (the cursor's time is started_at); a transcript page token
// reuses the same format, its cursor holding the number of lines already returned and the
// session id, scoped to that session. Every value reaches PostgreSQL as a $n parameter.
//
// Thread-safety: the functions are thread-safe; they block on the database (run them on the
// storage executor, never on a gRPC or I/O thread).

#ifndef MAILROOM_STORAGE_SESSION_STORE_H_
#define MAILROOM_STORAGE_SESSION_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/pool.h"

namespace mailroom::storage {

// The filters of ListSessions and DeleteSessions; all given ones are ANDed.
struct SessionFilter {
  std::vector<std::string> ids{};  // canonical UUIDs; empty: any (DeleteSessions only)
  std::string client_address{};    // an IP address or a CIDR block; empty: any
  std::string auth_user{};         // exact; empty: any
  // true: outcome error or timeout, or error_reply_count > 0; false: none of these.
  std::optional<bool> has_error{};
  std::optional<absl::Time> since{};  // started_at >= since
  std::optional<absl::Time> until{};  // started_at < until

  // True when no id and no filter is set (the filter selects every session).
  bool Empty() const;
};

// A session's metadata as stored (Session in the API, without the transcript).
struct SessionRow {
  std::string id{};
  std::string listener{};
  std::string client_address{};  // IP address text, without prefix length
  int client_port = 0;
  std::string ehlo_name{};
  std::optional<std::string> tls_protocol{};  // nullopt: no TLS
  std::string tls_cipher{};
  bool tls_implicit = false;
  std::string auth_user{};
  std::string auth_mechanism{};
  absl::Time started_at{};  // microsecond precision
  absl::Time ended_at{};
  int message_count = 0;
  std::string outcome{};  // the kOutcome values of storage/ingest_rows.h
  std::string error{};
  int error_reply_count = 0;
  std::vector<std::string> message_ids{};  // messages still stored, in receive order
  int transcript_line_count = 0;
};

// One transcript line with its absolute time.
struct TranscriptLine {
  absl::Time time{};
  char direction = 'I';  // 'C' client, 'S' server, 'I' info
  std::string text{};
};

struct SessionListQuery {
  SessionFilter filter{};    // ids are not allowed here
  int page_size = 0;         // 0..1000; 0 means the default, 50
  std::string page_token{};  // next_page_token of the previous page; empty for the first
};

struct SessionPage {
  std::vector<SessionRow> sessions{};  // newest first
  std::string next_page_token{};       // empty on the last page
};

struct SessionDetail {
  SessionRow session{};
  std::vector<TranscriptLine> transcript{};  // this page of lines, in order
  std::string next_transcript_page_token{};  // empty when the page ends the transcript
};

inline constexpr int kDefaultSessionPageSize = 50;
inline constexpr int kMaxSessionPageSize = 1000;
inline constexpr int kMaxTranscriptPageSize = 10000;

// Returns OK if `filter` is well formed, else InvalidArgument naming the request field:
// "ids[i]" not a UUID, "client_address" not an IP address or CIDR block, "until" not after
// "since".
absl::Status ValidateSessionFilter(const SessionFilter& filter);

// Returns one page of the sessions matching `query.filter`, newest first by (started_at, id),
// each with its message ids. Returns InvalidArgument for a bad filter (see
// ValidateSessionFilter), "page_size: ..." outside 0..1000 and "page_token: ..." for a token
// that is malformed or was issued for other filters; the pool's statuses for database errors.
absl::StatusOr<SessionPage> ListSessions(ConnectionPool& pool, const SessionListQuery& query);

// Returns session `id` with at most `transcript_page_size` transcript lines (0: 10000, also
// the maximum) starting where `transcript_page_token` says (empty: at the first line).
// Returns InvalidArgument "id: ..." for a malformed id, "transcript_page_size: ..." when
// negative, "transcript_page_token: ..." for a bad token; NotFound when no session has `id`.
absl::StatusOr<SessionDetail> GetSession(ConnectionPool& pool, absl::string_view id,
                                         int transcript_page_size,
                                         absl::string_view transcript_page_token);

// Deletes the sessions matching `filter` (their messages are kept) in short transactions, and
// returns how many were deleted. Returns InvalidArgument for a bad filter. REQUIRES: the
// caller has checked that an empty filter is really meant (confirm_all).
absl::StatusOr<int64_t> DeleteSessions(ConnectionPool& pool, const SessionFilter& filter);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_SESSION_STORE_H_
