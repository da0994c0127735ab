#include "storage/message_wait.h"

#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/ingest_batch.h"
#include "storage/message_sql.h"

namespace mailroom::storage {
namespace {

// Without a mailbox messages_received_idx serves the order; with one, the link table's
// (mailbox_id, received_at) key. The mailbox name is checked separately so that a missing
// mailbox is NotFound rather than an endless wait.
constexpr char kMailboxExists[] = "SELECT 1 FROM mailboxes WHERE name = $1";

}  // namespace

absl::StatusOr<std::optional<std::string>> FindFirstMessage(ConnectionPool& pool,
                                                            absl::string_view mailbox,
                                                            const MessageFilter& filter,
                                                            absl::Time since) {
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<std::optional<std::string>> {
    pqxx::read_transaction txn(conn, "find_first_message");
    SqlParams params;
    const std::string t = params.Add(TimestampLiteral(since));
    std::string sql;
    if (mailbox.empty()) {
      sql = absl::StrCat("SELECT m.id::text FROM messages m WHERE m.received_at >= ", t,
                         "::timestamptz AND (", FilterCondition(filter, params),
                         ") ORDER BY m.received_at, m.id LIMIT 1");
    } else {
      if (txn.exec_params(kMailboxExists, std::string(mailbox)).empty()) {
        return absl::NotFoundError(absl::StrCat("mailbox: no mailbox is named `", mailbox, "`"));
      }
      const std::string mb = params.Add(std::string(mailbox));
      sql = absl::StrCat(
          "SELECT m.id::text FROM message_mailboxes mm JOIN messages m ON m.id = mm.message_id"
          " WHERE mm.mailbox_id = (SELECT id FROM mailboxes WHERE name = ",
          mb, ") AND mm.received_at >= ", t, "::timestamptz AND (", FilterCondition(filter, params),
          ") ORDER BY mm.received_at, mm.message_id LIMIT 1");
    }
    const pqxx::result rows =
        txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params.values()));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows[0][0].as<std::string>());
  });
}

}  // namespace mailroom::storage
