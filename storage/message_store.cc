#include "storage/message_store.h"

#include <map>
#include <optional>
#include <pqxx/prepared_statement>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/message_sql.h"
#include "storage/page_token.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

constexpr Statement kMailboxIdByName = {"message_store_mailbox_id",
                                        "SELECT id::text FROM mailboxes WHERE name = $1"};

// The details of a page's messages, one statement each whatever the page size; all are
// primary-key lookups. Mailboxes come in routing order (position, then name).
constexpr Statement kPageMailboxes = {"message_store_page_mailboxes", R"sql(
SELECT x.message_id::text, b.name
FROM message_mailboxes x JOIN mailboxes b ON b.id = x.mailbox_id
WHERE x.message_id = ANY($1::uuid[])
ORDER BY b.position, b.name)sql"};

constexpr Statement kPageMailParameters = {"message_store_page_mail_parameters", R"sql(
SELECT m.id::text, p.value->>0, coalesce(p.value->>1, '')
FROM messages m CROSS JOIN LATERAL jsonb_array_elements(m.mail_parameters)
  WITH ORDINALITY AS p(value, ord)
WHERE m.id = ANY($1::uuid[])
ORDER BY m.id, p.ord)sql"};

// One row per recipient parameter, and one with NULL parameter for a recipient without.
constexpr Statement kPageRecipients = {"message_store_page_recipients", R"sql(
SELECT r.message_id::text, r.position, r.address, p.value->>0, coalesce(p.value->>1, '')
FROM message_recipients r LEFT JOIN LATERAL jsonb_array_elements(r.parameters)
  WITH ORDINALITY AS p(value, ord) ON true
WHERE r.message_id = ANY($1::uuid[])
ORDER BY r.message_id, r.position, p.ord)sql"};

// Messages removed per transaction by DeleteMessages: small enough that the row locks and
// the cascade of one batch never hold capture up for long.
constexpr int kDeleteBatch = 500;

// Returns the id of mailbox `name`, or NotFound.
absl::StatusOr<std::string> MailboxId(pqxx::transaction_base& txn, absl::string_view name) {
  const pqxx::result rows = ExecPrepared(txn, kMailboxIdByName, std::string(name));
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("mailbox: no mailbox is named `", name, "`"));
  }
  return rows[0][0].as<std::string>();
}

MessageSummaryRow ReadSummary(const pqxx::row& row) {
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

// Fills mailboxes, mail parameters and recipients of `messages`.
void ReadDetails(pqxx::transaction_base& txn, std::vector<MessageSummaryRow>& messages) {
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

pqxx::result Exec(pqxx::transaction_base& txn, const SqlStatement& statement) {
  return txn.exec_params(statement.sql, pqxx::prepare::make_dynamic_params(statement.params));
}

}  // namespace

absl::StatusOr<MessagePage> ListMessages(ConnectionPool& pool, const ListQuery& query) {
  if (query.page_size < 0 || query.page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", kMaxPageSize));
  }
  const int page_size = query.page_size == 0 ? kDefaultPageSize : query.page_size;
  const uint64_t scope = PageScope(query.mailbox, query.filter.source);
  std::optional<PageCursor> cursor;
  if (!query.page_token.empty()) {
    absl::StatusOr<PageCursor> decoded = DecodePageToken(query.page_token, scope);
    if (!decoded.ok()) return decoded.status();
    cursor = *std::move(decoded);
  }
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<MessagePage> {
    // One snapshot for the page and its details, so a message deleted meanwhile cannot
    // show with half its recipients.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn, "list_messages");
    std::optional<std::string> mailbox_id;
    if (!query.mailbox.empty()) {
      absl::StatusOr<std::string> id = MailboxId(txn, query.mailbox);
      if (!id.ok()) return id.status();
      mailbox_id = *std::move(id);
    }
    // One row more than asked says whether there is a next page.
    const pqxx::result rows =
        Exec(txn, ListStatement(mailbox_id, query.filter, cursor, page_size + 1));
    MessagePage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.messages.size()) == page_size) break;
      page.messages.push_back(ReadSummary(row));
    }
    ReadDetails(txn, page.messages);
    txn.commit();
    if (static_cast<int>(rows.size()) > page_size) {
      const MessageSummaryRow& last = page.messages.back();
      page.next_page_token = EncodePageToken(
          {.received_us = absl::ToUnixMicros(last.received_at), .id = last.id}, scope);
    }
    return page;
  });
}

absl::StatusOr<int64_t> DeleteMessages(ConnectionPool& pool, absl::string_view mailbox,
                                       const MessageFilter& filter) {
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
    std::optional<std::string> mailbox_id;
    if (!mailbox.empty()) {
      pqxx::read_transaction txn(conn, "delete_messages_mailbox");
      absl::StatusOr<std::string> id = MailboxId(txn, mailbox);
      if (!id.ok()) return id.status();
      mailbox_id = *std::move(id);
    }
    const SqlStatement statement = DeleteBatchStatement(mailbox_id, filter, kDeleteBatch);
    int64_t total = 0;
    while (true) {
      pqxx::work txn(conn, "delete_messages");
      const int64_t removed = Exec(txn, statement)[0][0].as<int64_t>();
      txn.commit();
      total += removed;
      if (removed == 0) break;
    }
    return total;
  });
}

}  // namespace mailroom::storage
