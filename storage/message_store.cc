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
#include "storage/message_summaries.h"
#include "storage/page_token.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

constexpr Statement kMailboxIdByName = {"message_store_mailbox_id",
                                        "SELECT id::text FROM mailboxes WHERE name = $1"};

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
    const auto page_rows = [&](ListPlan plan,
                               const std::optional<std::string>& not_before = std::nullopt) {
      return Exec(txn,
                  ListStatement(mailbox_id, query.filter, cursor, page_size + 1, plan, not_before));
    };
    const auto full = [&](const pqxx::result& rows) {
      return static_cast<int>(rows.size()) > page_size;
    };
    pqxx::result rows;
    if (NeedsBoundedWalk(query.filter)) {
      // The walk's matches tell how far back a page reaches (MatchWindowRows).
      rows = page_rows(ListPlan::kRecentWalk);
      if (!full(rows)) {
        const int window = MatchWindowRows(static_cast<int>(rows.size()), page_size + 1);
        // No boundary row: the window reaches past the oldest row, every match is in it.
        const pqxx::result boundary =
            window > 0 ? Exec(txn, WindowBoundaryStatement(mailbox_id, cursor, window))
                       : pqxx::result();
        if (!boundary.empty()) {
          rows = page_rows(ListPlan::kMatchesFirst, boundary[0][0].as<std::string>());
        }
        if (!full(rows)) rows = page_rows(ListPlan::kMatchesFirst);
      }
    } else {
      rows = page_rows(ListPlan::kPlanner);
    }
    MessagePage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.messages.size()) == page_size) break;
      page.messages.push_back(ReadSummaryRow(row));
    }
    ReadSummaryDetails(txn, page.messages);
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
