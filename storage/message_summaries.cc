#include "storage/message_summaries.h"

#include <map>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

// The details of a page's messages, one statement each whatever the page size; all are
// primary-key lookups. Mailboxes come in routing order (position, then name).
constexpr Statement kPageMailboxes = {"message_summaries_mailboxes", R"sql(
SELECT x.message_id::text, b.name
FROM message_mailboxes x JOIN mailboxes b ON b.id = x.mailbox_id
WHERE x.message_id = ANY($1::uuid[])
ORDER BY b.position, b.name)sql"};

constexpr Statement kPageMailParameters = {"message_summaries_mail_parameters", R"sql(
SELECT m.id::text, p.value->>0, coalesce(p.value->>1, '')
FROM messages m CROSS JOIN LATERAL jsonb_array_elements(m.mail_parameters)
  WITH ORDINALITY AS p(value, ord)
WHERE m.id = ANY($1::uuid[])
ORDER BY m.id, p.ord)sql"};

// One row per recipient parameter, and one with NULL parameter for a recipient without.
constexpr Statement kPageRecipients = {"message_summaries_recipients", R"sql(
SELECT r.message_id::text, r.position, r.address, p.value->>0, coalesce(p.value->>1, '')
FROM message_recipients r LEFT JOIN LATERAL jsonb_array_elements(r.parameters)
  WITH ORDINALITY AS p(value, ord) ON true
WHERE r.message_id = ANY($1::uuid[])
ORDER BY r.message_id, r.position, p.ord)sql"};

}  // namespace

MessageSummaryRow ReadSummaryRow(const pqxx::row& row) {
  MessageSummaryRow m;
  m.id = row[0].as<std::string>();
  m.envelope_from = row[1].as<std::string>();
  m.from_header = row[2].as<std::string>();
  m.to_header = row[3].as<std::string>();
  m.cc_header = row[4].as<std::string>();
  m.subject = row[5].as<std::string>();
  if (!row[6].is_null()) m.date = absl::FromUnixMicros(row[6].as<int64_t>());
  m.message_id_header = row[7].as<std::string>();
  m.size_bytes = row[8].as<int64_t>();
  m.read = row[9].as<bool>();
  m.has_attachments = row[10].as<bool>();
  m.received_at = absl::FromUnixMicros(row[11].as<int64_t>());
  m.session_id = row[12].as<std::string>();
  m.auth_user = row[13].as<std::string>();
  return m;
}

void ReadSummaryDetails(pqxx::transaction_base& txn, std::vector<MessageSummaryRow>& messages) {
  if (messages.empty()) return;
  std::map<std::string, MessageSummaryRow*> by_id;
  PgArrayBuilder ids;
  for (MessageSummaryRow& m : messages) {
    by_id[m.id] = &m;
    ids.Add(m.id);
  }
  const std::string id_array = std::move(ids).Finish();
  for (const pqxx::row& row : ExecPrepared(txn, kPageMailboxes, id_array)) {
    by_id.at(row[0].as<std::string>())->mailboxes.push_back(row[1].as<std::string>());
  }
  for (const pqxx::row& row : ExecPrepared(txn, kPageMailParameters, id_array)) {
    by_id.at(row[0].as<std::string>())
        ->mail_parameters.push_back({row[1].as<std::string>(), row[2].as<std::string>()});
  }
  int last_position = -1;
  std::string last_id;
  for (const pqxx::row& row : ExecPrepared(txn, kPageRecipients, id_array)) {
    const std::string id = row[0].as<std::string>();
    const int position = row[1].as<int>();
    MessageSummaryRow& m = *by_id.at(id);
    if (id != last_id || position != last_position) {
      m.recipients.push_back({.address = row[2].as<std::string>()});
      last_id = id;
      last_position = position;
    }
    if (!row[3].is_null()) {
      m.recipients.back().parameters.push_back(
          {row[3].as<std::string>(), row[4].as<std::string>()});
    }
  }
}

}  // namespace mailroom::storage
