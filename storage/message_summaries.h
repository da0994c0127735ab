// The summary of a message as lists show it (MessageSummaryRow, storage/message_store.h):
// the columns a query selects for it, reading them back, and loading the details that live
// in other tables (mailboxes, MAIL parameters, recipients). Shared by ListMessages and the
// queries of WatchMessages, which must show the same summary.
//
// Thread-safety: pure functions over the caller's transaction.
#ifndef MAILROOM_STORAGE_MESSAGE_SUMMARIES_H_
#define MAILROOM_STORAGE_MESSAGE_SUMMARIES_H_

#include <pqxx/row>
#include <pqxx/transaction_base>
#include <vector>

#include "storage/message_store.h"

namespace mailroom::storage {

// The summary columns of messages `m`, in the order ReadSummaryRow reads them. Times travel
// as integer microseconds (exact, no text parsing).
inline constexpr char kSummaryColumns[] = R"sql(m.id::text, m.envelope_from,
  coalesce(m.from_header, ''), coalesce(m.to_header, ''), coalesce(m.cc_header, ''),
  coalesce(m.subject, ''), (EXTRACT(EPOCH FROM m.date_header) * 1000000)::int8,
  coalesce(m.message_id_header, ''), m.size_bytes, m.is_read, m.has_attachments,
  (EXTRACT(EPOCH FROM m.received_at) * 1000000)::int8, coalesce(m.session_id::text, ''),
  coalesce(m.auth_user, ''))sql";

// Reads a row selected with kSummaryColumns; the details are left empty.
MessageSummaryRow ReadSummaryRow(const pqxx::row& row);

// Fills the mailboxes (in routing order), MAIL parameters and recipients of `messages`: one
// statement each whatever their number, all key lookups.
void ReadSummaryDetails(pqxx::transaction_base& txn, std::vector<MessageSummaryRow>& messages);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_SUMMARIES_H_
