// Selecting messages: ListMessages (one page of summaries, newest first) and DeleteMessages
// (everything a filter selects), the storage side of MessageService.ListMessages and
// DeleteMessages. Reading and changing one message lives in storage/message_reader.h.
//
// Pages use keyset pagination on (received_at, id), newest first: the next page starts
// strictly after the last item of the previous one, so messages captured while a client
// pages through a list never make it skip or repeat an item (they are newer than the
// cursor, so they only show on a new first page). Without a mailbox the walk uses
// messages_received_idx; with one, message_mailboxes' primary key.
//
// Thread-safety: the functions are thread-safe; they block on the database (run them on the
// storage executor, never on a gRPC or I/O thread).

#ifndef MAILROOM_STORAGE_MESSAGE_STORE_H_
#define MAILROOM_STORAGE_MESSAGE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/ingest_rows.h"
#include "storage/message_query.h"
#include "storage/pool.h"

namespace mailroom::storage {

// An envelope recipient as stored, with its RCPT parameters in the order sent.
struct StoredRecipient {
  std::string address{};
  std::vector<SmtpParameter> parameters{};
};

// What a list shows of a message (MessageSummary in the API): everything but the raw bytes.
// Header strings are the decoded display forms stored at capture (smtp/mime_summary.h):
// from/to/cc are comma-separated address lists; empty when the header is missing.
struct MessageSummaryRow {
  std::string id{};
  std::vector<std::string> mailboxes{};  // names, by mailbox position then name
  std::string envelope_from{};           // "" for the null reverse-path
  std::vector<SmtpParameter> mail_parameters{};
  std::vector<StoredRecipient> recipients{};  // in RCPT order
  std::string from_header{};
  std::string to_header{};
  std::string cc_header{};
  std::string subject{};
  std::optional<absl::Time> date{};  // nullopt: Date header missing or unparseable
  std::string message_id_header{};   // without angle brackets
  int64_t size_bytes = 0;
  bool read = false;
  bool has_attachments = false;
  absl::Time received_at{};  // microsecond precision
  std::string session_id{};  // empty when not received over SMTP
  std::string auth_user{};   // empty without AUTH
};

struct ListQuery {
  std::string mailbox{};  // a mailbox name; empty lists every message once
  MessageFilter filter{};
  int page_size = 50;        // 1..1000; 0 means the default, 50
  std::string page_token{};  // next_page_token of the previous page; empty for the first
};

struct MessagePage {
  std::vector<MessageSummaryRow> messages{};  // newest first
  std::string next_page_token{};              // empty on the last page
};

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// Returns one page of the messages in `query.mailbox` (every message when empty) that match
// `query.filter`, newest first by (received_at, id). Returns NotFound "mailbox: ..." when
// the mailbox does not exist, InvalidArgument "page_token: ..." when the token is malformed
// or was issued for another mailbox or query, InvalidArgument "page_size: ..." when it is
// out of range, and the pool's statuses for database failures.
absl::StatusOr<MessagePage> ListMessages(ConnectionPool& pool, const ListQuery& query);

// Deletes what ListMessages would list for `mailbox` and `filter`: with a mailbox, the
// matching messages are removed from it (and deleted when then in no mailbox); without one,
// they are deleted outright. Works in batches of short transactions so that capture is never
// blocked for long. Returns how many messages were removed (from the mailbox, when given),
// NotFound "mailbox: ..." when the mailbox does not exist. REQUIRES: the caller has checked
// that an empty mailbox with an empty filter is really meant (confirm_all).
absl::StatusOr<int64_t> DeleteMessages(ConnectionPool& pool, absl::string_view mailbox,
                                       const MessageFilter& filter);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_STORE_H_
