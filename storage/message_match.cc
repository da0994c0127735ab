#include "storage/message_match.h"

#include <map>
#include <pqxx/prepared_statement>
#include <pqxx/result>
#include <pqxx/transaction>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/ids.h"
#include "storage/ingest_batch.h"
#include "storage/message_sql.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

constexpr Statement kMailboxId = {"message_match_mailbox_id",
                                  "SELECT id::text FROM mailboxes WHERE name = $1"};

// The summary columns, read by ReadSummary in this order. Times travel as integer
// microseconds (exact, no text parsing).
constexpr char kColumns[] = R"sql(SELECT m.id::text, m.envelope_from,
  coalesce(m.from_header, ''), coalesce(m.to_header, ''), coalesce(m.cc_header, ''),
  coalesce(m.subject, ''), (EXTRACT(EPOCH FROM m.date_header) * 1000000)::int8,
  coalesce(m.message_id_header, ''), m.size_bytes, m.is_read, m.has_attachments,
  (EXTRACT(EPOCH FROM m.received_at) * 1000000)::int8, coalesce(m.session_id::text, ''),
  coalesce(m.auth_user, ''))sql";

// The details of the selected messages, one statement each whatever their number; all are
// key lookups. Mailboxes come in routing order (position, then name).
constexpr Statement kMailboxes = {"message_match_mailboxes", R"sql(
SELECT x.message_id::text, b.name
FROM message_mailboxes x JOIN mailboxes b ON b.id = x.mailbox_id
WHERE x.message_id = ANY($1::uuid[])
ORDER BY b.position, b.name)sql"};

constexpr Statement kMailParameters = {"message_match_mail_parameters", R"sql(
SELECT m.id::text, p.value->>0, coalesce(p.value->>1, '')
FROM messages m CROSS JOIN LATERAL jsonb_array_elements(m.mail_parameters)
  WITH ORDINALITY AS p(value, ord)
WHERE m.id = ANY($1::uuid[])
ORDER BY m.id, p.ord)sql"};

// One row per recipient parameter, and one with NULL parameter for a recipient without.
constexpr Statement kRecipients = {"message_match_recipients", R"sql(
SELECT r.message_id::text, r.position, r.address, p.value->>0, coalesce(p.value->>1, '')
FROM message_recipients r LEFT JOIN LATERAL jsonb_array_elements(r.parameters)
  WITH ORDINALITY AS p(value, ord) ON true
WHERE r.message_id = ANY($1::uuid[])
ORDER BY r.message_id, r.position, p.ord)sql"};

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
  for (const pqxx::row& row : ExecPrepared(txn, kMailboxes, id_array)) {
    by_id.at(row[0].as<std::string>())->mailboxes.push_back(row[1].as<std::string>());
  }
  for (const pqxx::row& row : ExecPrepared(txn, kMailParameters, id_array)) {
    by_id.at(row[0].as<std::string>())
        ->mail_parameters.push_back({row[1].as<std::string>(), row[2].as<std::string>()});
  }
  int last_position = -1;
  std::string last_id;
  for (const pqxx::row& row : ExecPrepared(txn, kRecipients, id_array)) {
    std::string id = row[0].as<std::string>();
    const int position = row[1].as<int>();
    MessageSummaryRow& m = *by_id.at(id);
    if (id != last_id || position != last_position) {
      m.recipients.push_back({.address = row[2].as<std::string>()});
      last_id = std::move(id);
      last_position = position;
    }
    if (!row[3].is_null()) {
      m.recipients.back().parameters.push_back(
          {row[3].as<std::string>(), row[4].as<std::string>()});
    }
  }
}

// The summaries selected by `sql` with `params`, with their details, in one snapshot so that
// a message deleted meanwhile cannot show with half its recipients.
absl::StatusOr<std::vector<MessageSummaryRow>> Select(ConnectionPool& pool, const std::string& sql,
                                                      const SqlParams& params) {
  return pool.Run([&](pqxx::connection& conn) -> std::vector<MessageSummaryRow> {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn, "watch_messages");
    std::vector<MessageSummaryRow> messages;
    for (const pqxx::row& row :
         txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params.values()))) {
      messages.push_back(ReadSummary(row));
    }
    ReadDetails(txn, messages);
    txn.commit();
    return messages;
  });
}

}  // namespace

absl::StatusOr<std::string> FindMailboxId(ConnectionPool& pool, absl::string_view name) {
  const std::string key(name);
  absl::StatusOr<std::optional<std::string>> id =
      pool.Run([&](pqxx::connection& conn) -> std::optional<std::string> {
        pqxx::read_transaction txn(conn, "watch_mailbox");
        const pqxx::result rows = ExecPrepared(txn, kMailboxId, key);
        if (rows.empty()) return std::nullopt;
        return rows[0][0].as<std::string>();
      });
  if (!id.ok()) return id.status();
  if (!id->has_value()) {
    return absl::NotFoundError(absl::StrCat("mailbox: no mailbox is named `", name, "`"));
  }
  return **std::move(id);
}

absl::StatusOr<std::vector<MessageSummaryRow>> MatchMessages(ConnectionPool& pool,
                                                             absl::Span<const std::string> ids,
                                                             const WatchScope& scope) {
  PgArrayBuilder array;
  int count = 0;
  for (const std::string& id : ids) {
    if (!IsValidId(id)) continue;
    array.Add(id);
    ++count;
  }
  if (count == 0) return std::vector<MessageSummaryRow>();
  // The primary key finds the few rows; the filter is then checked on them only.
  SqlParams params;
  std::string sql = absl::StrCat(kColumns, " FROM messages m WHERE m.id = ANY(",
                                 params.Add(std::move(array).Finish()), "::uuid[])");
  if (scope.mailbox_id.has_value()) {
    absl::StrAppend(&sql,
                    " AND EXISTS (SELECT 1 FROM message_mailboxes x WHERE x.message_id = m.id"
                    " AND x.mailbox_id = ",
                    params.Add(*scope.mailbox_id), "::uuid)");
  }
  absl::StrAppend(&sql, " AND (", FilterCondition(scope.filter, params), ")");
  return Select(pool, sql, params);
}

absl::StatusOr<std::vector<MessageSummaryRow>> ReplayPage(ConnectionPool& pool,
                                                          const WatchScope& scope, absl::Time since,
                                                          const std::optional<ReplayCursor>& after,
                                                          int limit) {
  // Oldest first along messages_received_idx, or with a mailbox along the primary key of
  // message_mailboxes (mailbox_id, received_at, message_id), as ListMessages pages newest
  // first.
  SqlParams params;
  std::string sql(kColumns);
  const std::string t = params.Add(TimestampLiteral(since));
  std::string time_column = "m.received_at";
  std::string id_column = "m.id";
  if (scope.mailbox_id.has_value()) {
    time_column = "mm.received_at";
    id_column = "mm.message_id";
    absl::StrAppend(&sql,
                    " FROM message_mailboxes mm JOIN messages m ON m.id = mm.message_id"
                    " WHERE mm.mailbox_id = ",
                    params.Add(*scope.mailbox_id), "::uuid");
  } else {
    sql += " FROM messages m WHERE true";
  }
  absl::StrAppend(&sql, " AND ", time_column, " >= ", t, "::timestamptz");
  if (after.has_value()) {
    absl::StrAppend(&sql, " AND (", time_column, ", ", id_column, ") > (",
                    params.Add(TimestampLiteral(after->received_at)), "::timestamptz, ",
                    params.Add(after->id), "::uuid)");
  }
  absl::StrAppend(&sql, " AND (", FilterCondition(scope.filter, params), ") ORDER BY ", time_column,
                  ", ", id_column, " LIMIT ", params.Add(absl::StrCat(limit)), "::int8");
  return Select(pool, sql, params);
}

}  // namespace mailroom::storage
