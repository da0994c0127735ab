// Turns a MessageFilter (storage/message_query.h) into a parameterised SQL condition over
// the `messages` table aliased `m`. Values never enter the SQL text: each is appended to a
// SqlParams list and referenced as $n, so a query can hold any characters.
//
// Each term maps to a condition that a PostgreSQL index can serve:
//   words, "phrases"   m.search_vector @@ plainto_tsquery / phraseto_tsquery ('simple')
//                      (GIN messages_search_idx, migration 0003)
//   from: to:          ILIKE '%value%' with LIKE wildcards escaped, on one column each that
//                      holds every address they look at (migration 0006), or through the
//                      address dictionary (migration 0007): see AddressLookup
//   cc: subject:       ILIKE '%value%' (pg_trgm GIN indexes)
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

// How from: and to: are written.
enum class AddressLookup {
  // Each row's own sender_search / recipient_search: about a microsecond a row, no index.
  // For conditions tested on rows found otherwise (a walk in time order, a few new ids).
  kRowColumns,
  // The matching entries of the address dictionary (a trigram index over distinct
  // addresses), then their messages through a B-tree: for finding the matches themselves.
  // A value the dictionary cannot answer exactly (with a comma, say) stays on the columns.
  kDictionary,
};

// Returns a condition (SQL text) that is true for the rows of `messages m` matching every
// term of `filter`, "true" when it has none, adding the values to `params`.
std::string FilterCondition(const MessageFilter& filter, SqlParams& params,
                            AddressLookup lookup = AddressLookup::kRowColumns);

// A statement with its parameter values.
struct SqlStatement {
  std::string sql{};
  std::vector<std::string> params{};
};

// How the page query of ListMessages finds its rows.
//
// A page is found either by walking the time index newest first, testing each row until
// the page is full, or by collecting the matches through the indexes, then sorting. The
// walk is the fast way for a term in many messages and a disaster for one in few, and
// PostgreSQL cannot tell them apart well enough: it guesses a word missing from its
// statistics at a fraction of a percent however rare it is, so a word in five of a million
// messages was searched by walking all million (seconds). So when the filter has a
// positive word, phrase, from: or to:, ListMessages runs kRecentWalk, and kMatchesFirst when
// that did not fill the page: a frequent term costs at most the bounded walk, a rare one
// the walk plus its few matches. Other filters are left to kPlanner.
enum class ListPlan {
  kPlanner,     // one query, PostgreSQL's choice
  kRecentWalk,  // only the kRecentWalkRows newest rows after the cursor are tested
  // Every match through the indexes (words: GIN; from:/to:: the address dictionary), then
  // the newest `limit`; a lone from: or to: takes its newest links from the dictionary's
  // B-tree and reads only the page's messages.
  // With not_before (ListStatement), only the matches in a window of the newest rows
  // after the cursor (MatchWindowRows): the search index and the time index are read
  // together (a BitmapAnd), and only the window's matching rows.
  kMatchesFirst,
};

// How many rows kRecentWalk tests: about 13 ms of full-text checks (6 ms of address
// checks) at 1,000,000 messages, enough to fill a page of 50 with a term in 2.5% of the
// messages or more.
inline constexpr int kRecentWalkRows = 2000;

// The largest window kMatchesFirst is narrowed to (MatchWindowRows). Finding a window's
// boundary and its rows reads about a microsecond of index per row, so beyond this many
// rows a term that sparse is cheaper to collect whole.
inline constexpr int kMaxMatchWindowRows = 50000;

// How many of the newest rows after the cursor kMatchesFirst looks at, when the bounded
// walk found `walk_matches` matches (fewer than `wanted`) among its kRecentWalkRows rows;
// 0 means all of them. A term in about 0.5% of the messages has some ten matches in the
// walk and some 5,000 in a million messages: sorting all of them reads 5,000 rows scattered
// over the table (20 ms, and far more when they are not in shared buffers), while the
// ~20,000 newest rows hold a page of them. The window is twice what the walk's rate
// predicts, so a page is almost always found in it; when it is not, ListMessages falls back
// to every match. No matches in the walk gives 0: the term is rare and its matches few.
int MatchWindowRows(int walk_matches, int wanted);

// Whether `filter` has a positive word, phrase, from: or to: (see ListPlan).
bool NeedsBoundedWalk(const MessageFilter& filter);

// The page query of ListMessages: the summary columns (kSummaryColumns order, in
// storage/message_summaries.h) of at most `limit` messages matching `filter`, in the mailbox
// with id `mailbox_id` when given, strictly after `cursor` when given, newest first.
// `not_before` (a timestamptz literal, from WindowBoundaryStatement) narrows kMatchesFirst
// to the matches received then or later; other plans ignore it, and so does a lone from:
// or to:, whose newest links are read directly.
SqlStatement ListStatement(const std::optional<std::string>& mailbox_id,
                           const MessageFilter& filter, const std::optional<PageCursor>& cursor,
                           int limit, ListPlan plan = ListPlan::kPlanner,
                           const std::optional<std::string>& not_before = std::nullopt);

// One row, the received_at (as text) of the row `window_rows` places after `cursor`, newest
// first, in the mailbox with id `mailbox_id` when given; no row when there are not that many.
// The rows from the cursor's down to it are the window of MatchWindowRows.
SqlStatement WindowBoundaryStatement(const std::optional<std::string>& mailbox_id,
                                     const std::optional<PageCursor>& cursor, int window_rows);

// Deletes (or, with `mailbox_id`, unlinks from that mailbox, deleting messages left in no
// mailbox) at most `limit` messages matching `filter`. Returns one row: the count removed.
SqlStatement DeleteBatchStatement(const std::optional<std::string>& mailbox_id,
                                  const MessageFilter& filter, int limit);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_SQL_H_
