// Turns a MessageFilter (storage/message_query.h) into a parameterised SQL condition over
// the `messages` table aliased `m`. Values never enter the SQL text: each is appended to a
// SqlParams list and referenced as $n, so a query can hold any characters.
//
// Each term maps to a condition that a PostgreSQL index can serve:
//   words, "phrases"   m.search_vector @@ plainto_tsquery / phraseto_tsquery ('simple')
//                      (GIN messages_search_idx, migration 0003)
//   from: to: cc: subject:
//                      ILIKE '%value%' with LIKE wildcards escaped (pg_trgm GIN indexes);
//                      to: also looks in message_recipients
//   is: has: after: before: larger: smaller:
//                      plain column comparisons
// A missing header (NULL) does not match a term and matches its negation: negated terms are
// written NOT coalesce(term, false); positive ones stay bare so the planner can use indexes.
//
// Thread-safety: pure functions; SqlParams is a value used by one thread.

#ifndef MAILROOM_STORAGE_MESSAGE_SQL_H_
#define MAILROOM_STORAGE_MESSAGE_SQL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "storage/message_query.h"
#include "storage/page_token.h"

namespace mailroom::storage {

// The values of a statement's $n parameters, in order. All are sent as text and cast in the
// SQL where they are not text.
class SqlParams {
 public:
  // Appends `value` and returns its placeholder ("$3").
  std::string Add(std::string value);
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::vector<std::string> values_;
};

// Returns `text` with LIKE's escape character and wildcards (\ % _) escaped by a backslash.
std::string EscapeLike(absl::string_view text);

// Returns a condition (SQL text) that is true for the rows of `messages m` matching every
// term of `filter`, "true" when it has none, adding the values to `params`.
std::string FilterCondition(const MessageFilter& filter, SqlParams& params);

// A statement with its parameter values.
struct SqlStatement {
  std::string sql{};
  std::vector<std::string> params{};
};

// The page query of ListMessages: the summary columns (kSummaryColumns order, in
// storage/message_summaries.h) of at most `limit` messages matching `filter`, in the mailbox
// with id `mailbox_id` when given, strictly after `cursor` when given, newest first.
SqlStatement ListStatement(const std::optional<std::string>& mailbox_id,
                           const MessageFilter& filter, const std::optional<PageCursor>& cursor,
                           int limit);

// Deletes (or, with `mailbox_id`, unlinks from that mailbox, deleting messages left in no
// mailbox) at most `limit` messages matching `filter`. Returns one row: the count removed.
SqlStatement DeleteBatchStatement(const std::optional<std::string>& mailbox_id,
                                  const MessageFilter& filter, int limit);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_SQL_H_
