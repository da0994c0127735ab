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
#include "storage/message_summaries.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

constexpr Statement kMailboxId = {"message_match_mailbox_id",
                                  "SELECT id::text FROM mailboxes WHERE name = $1"};

// The summaries selected by `sql` with `params`, with their details, in one snapshot so that
// a message deleted meanwhile cannot show with half its recipients.
absl::StatusOr<std::vector<MessageSummaryRow>> Select(ConnectionPool& pool, const std::string& sql,
                                                      const SqlParams& params) {
  return pool.Run([&](pqxx::connection& conn) -> std::vector<MessageSummaryRow> {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn, "watch_messages");
    std::vector<MessageSummaryRow> messages;
    for (const pqxx::row& row :
         txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params.values()))) {
      messages.push_back(ReadSummaryRow(row));
    }
    ReadSummaryDetails(txn, messages);
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
  std::string sql = absl::StrCat("SELECT ", kSummaryColumns, " FROM messages m WHERE m.id = ANY(",
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
  std::string sql = absl::StrCat("SELECT ", kSummaryColumns);
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
