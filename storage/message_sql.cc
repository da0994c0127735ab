#include "storage/message_sql.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "storage/ingest_batch.h"
#include "storage/message_summaries.h"

namespace mailroom::storage {
namespace {

// Without a mailbox the walk follows messages_received_idx; with one, the primary key of
// message_mailboxes (mailbox_id, received_at, message_id), which holds a copy of
// received_at for exactly this purpose, then joins the few messages rows of the page.
constexpr char kListAllFrom[] = " FROM messages m WHERE ";
constexpr char kListMailboxFrom[] =
    " FROM message_mailboxes mm JOIN messages m ON m.id = mm.message_id"
    " WHERE mm.mailbox_id = {mb}::uuid AND ";
constexpr char kAllKeyset[] = " AND (m.received_at, m.id) < ({t}::timestamptz, {id}::uuid)";
constexpr char kMailboxKeyset[] =
    " AND (mm.received_at, mm.message_id) < ({t}::timestamptz, {id}::uuid)";
constexpr char kAllOrder[] = " ORDER BY m.received_at DESC, m.id DESC";
constexpr char kMailboxOrder[] = " ORDER BY mm.received_at DESC, mm.message_id DESC";

// ListPlan::kRecentWalk: the newest rows after the cursor, kRecentWalkRows of them, tested.
constexpr char kRecentAll[] =
    " FROM (SELECT * FROM messages m WHERE true{keyset}{order} LIMIT {walk}) m WHERE {filter}";
constexpr char kRecentMailbox[] =
    " FROM (SELECT mm.message_id, mm.received_at FROM message_mailboxes mm"
    " WHERE mm.mailbox_id = {mb}::uuid{keyset}{order} LIMIT {walk}) mm"
    " JOIN messages m ON m.id = mm.message_id WHERE {filter}";

// ListPlan::kMatchesFirst when the filter is one positive from: or to:: for each matching
// address, its `limit` newest links straight from the primary key of message_addresses
// (address, role, received_at, message), then the newest `limit` distinct messages of those,
// so that the index is read a page at a time per address and only the page's messages rows
// are read. (The page's messages are among them: a message that is not among its address's
// `limit` newest has `limit` newer ones.)
constexpr char kLinksFirst[] = R"sql(
WITH page AS (
SELECT DISTINCT l.message_id AS id, l.received_at
FROM (SELECT a.id FROM addresses a WHERE a.text ILIKE {p}) a,
  LATERAL (SELECT ma.message_id, ma.received_at FROM message_addresses ma{mailbox_join}
           WHERE ma.address_id = a.id AND ma.role = '{role}'{keyset}
           ORDER BY ma.received_at DESC, ma.message_id DESC LIMIT {limit}) l
ORDER BY l.received_at DESC, l.message_id DESC LIMIT {limit})
SELECT {columns} FROM page JOIN messages m ON m.id = page.id
ORDER BY page.received_at DESC, page.id DESC)sql";
constexpr char kLinksMailboxJoin[] =
    " JOIN message_mailboxes mm ON mm.mailbox_id = {mb}::uuid"
    " AND mm.received_at = ma.received_at AND mm.message_id = ma.message_id";
constexpr char kLinksKeyset[] =
    " AND (ma.received_at, ma.message_id) < ({t}::timestamptz, {id}::uuid)";

// ListPlan::kMatchesFirst: MATERIALIZED keeps the page's ORDER BY and LIMIT out of the
// matching, so PostgreSQL cannot walk the time index and has to find the matches through
// the search indexes; only the page is then joined back for its columns.
// `o` is the alias that carries the order: m, or mm in a mailbox.
constexpr char kMatchesFirst[] = R"sql(
WITH hits AS MATERIALIZED (SELECT {o}.{o_id} AS id, {o}.received_at{from}{filter}{keyset}{window}),
page AS (SELECT id, received_at FROM hits ORDER BY received_at DESC, id DESC LIMIT {limit})
SELECT {columns} FROM page JOIN messages m ON m.id = page.id
ORDER BY page.received_at DESC, page.id DESC)sql";

// The boundary of a kMatchesFirst window (MatchWindowRows): the received_at of the row
// {window} places after the cursor's, from the time index alone.
constexpr char kAllBoundary[] =
    "SELECT m.received_at FROM messages m WHERE true{keyset}{order} OFFSET {window} LIMIT 1";
constexpr char kMailboxBoundary[] =
    "SELECT mm.received_at FROM message_mailboxes mm WHERE mm.mailbox_id = {mb}::uuid"
    "{keyset}{order} OFFSET {window} LIMIT 1";
// The window's bound is on m.received_at in a mailbox too (its links hold a copy), so that
// it and the search index meet on one table. The boundary is a literal value, not a
// subquery: PostgreSQL then knows the range is small and reads the search index and the
// time index together (a BitmapAnd) instead of every match.
constexpr char kWindowCondition[] = " AND m.received_at >= {not_before}::timestamptz";

// Deleting without a mailbox: the messages rows go, their recipients and links cascade.
constexpr char kDeleteAll[] = R"sql(
WITH picked AS (SELECT m.id FROM messages m WHERE {filter} LIMIT {limit}),
gone AS (DELETE FROM messages d USING picked WHERE d.id = picked.id RETURNING d.id)
SELECT count(*) FROM gone)sql";

// Deleting from one mailbox: unlink, then delete the messages that are in no other mailbox.
// All parts of the statement see the same snapshot, where the links being removed still
// exist, hence "another mailbox" rather than "any mailbox".
constexpr char kDeleteFromMailbox[] = R"sql(
WITH picked AS (
  SELECT mm.message_id FROM message_mailboxes mm JOIN messages m ON m.id = mm.message_id
  WHERE mm.mailbox_id = {mb}::uuid AND {filter} LIMIT {limit}),
unlinked AS (
  DELETE FROM message_mailboxes x USING picked
  WHERE x.mailbox_id = {mb}::uuid AND x.message_id = picked.message_id
  RETURNING x.message_id),
orphans AS (
  DELETE FROM messages d USING unlinked u
  WHERE d.id = u.message_id AND NOT EXISTS (
    SELECT 1 FROM message_mailboxes y WHERE y.message_id = d.id AND y.mailbox_id <> {mb}::uuid))
SELECT count(*) FROM unlinked)sql";

// The ILIKE pattern of a substring operator's value, as a parameter.
std::string LikePattern(const std::string& text, SqlParams& params) {
  return params.Add(absl::StrCat("%", EscapeLike(text), "%"));
}

// `keyset_sql` (one of the *Keyset constants) with the cursor's values as parameters.
std::string KeysetCondition(const char* keyset_sql, const PageCursor& cursor, SqlParams& params) {
  const std::string t = params.Add(TimestampLiteral(absl::FromUnixMicros(cursor.received_us)));
  return absl::StrReplaceAll(keyset_sql, {{"{t}", t}, {"{id}", params.Add(cursor.id)}});
}

// The keyset condition of a page after `cursor` ("" without one), on mm in a mailbox.
std::string PageKeyset(bool in_mailbox, const std::optional<PageCursor>& cursor,
                       SqlParams& params) {
  if (!cursor.has_value()) return "";
  return KeysetCondition(in_mailbox ? kMailboxKeyset : kAllKeyset, *cursor, params);
}

// The dictionary role of from: ('s') and to: ('r'); migration 0007.
const char* AddressRole(TermKind kind) { return kind == TermKind::kFrom ? "s" : "r"; }

// Whether the dictionary finds exactly what the columns would: its entries are the lines
// split at commas and trimmed, so a value with a comma, a line break or surrounding space
// could match a column and no entry.
bool DictionaryServes(const Term& term) {
  return term.text.find_first_of(",\n") == std::string::npos &&
         absl::StripAsciiWhitespace(term.text) == term.text;
}

// The messages with an address of `kind`'s role containing pattern `p`, through the
// address dictionary.
std::string DictionaryMatch(TermKind kind, const std::string& p) {
  return absl::StrCat(
      "m.id IN (SELECT ma.message_id FROM addresses a JOIN message_addresses ma"
      " ON ma.address_id = a.id WHERE a.text ILIKE ",
      p, " AND ma.role = '", AddressRole(kind), "')");
}

// The SQL of one term, without its negation.
std::string TermSql(const Term& term, SqlParams& params, AddressLookup lookup) {
  const auto like = [&] { return LikePattern(term.text, params); };
  switch (term.kind) {
    case TermKind::kWord:
      return absl::StrCat("m.search_vector @@ plainto_tsquery('simple', ", params.Add(term.text),
                          ")");
    case TermKind::kPhrase:
      return absl::StrCat("m.search_vector @@ phraseto_tsquery('simple', ", params.Add(term.text),
                          ")");
    case TermKind::kFrom:
      // The envelope sender and the From header (migration 0006).
      if (lookup == AddressLookup::kDictionary && DictionaryServes(term)) {
        return DictionaryMatch(term.kind, like());
      }
      return absl::StrCat("m.sender_search ILIKE ", like());
    case TermKind::kTo:
      // The envelope recipients and the To and Cc headers (migration 0006). Bcc is not
      // stored, so it cannot be searched; the envelope covers the usual case of a Bcc
      // recipient of a captured message.
      if (lookup == AddressLookup::kDictionary && DictionaryServes(term)) {
        return DictionaryMatch(term.kind, like());
      }
      return absl::StrCat("m.recipient_search ILIKE ", like());
    case TermKind::kCc:
      return absl::StrCat("m.cc_header ILIKE ", like());
    case TermKind::kSubject:
      return absl::StrCat("m.subject ILIKE ", like());
    case TermKind::kRead:
      return "m.is_read";
    case TermKind::kHasAttachment:
      return "m.has_attachments";
    case TermKind::kAfter:
      return absl::StrCat("m.received_at >= ", params.Add(TimestampLiteral(term.time)),
                          "::timestamptz");
    case TermKind::kBefore:
      return absl::StrCat("m.received_at < ", params.Add(TimestampLiteral(term.time)),
                          "::timestamptz");
    case TermKind::kLarger:
      return absl::StrCat("m.size_bytes > ", params.Add(absl::StrCat(term.size)), "::int8");
    case TermKind::kSmaller:
      return absl::StrCat("m.size_bytes < ", params.Add(absl::StrCat(term.size)), "::int8");
  }
  return "false";
}

}  // namespace

std::string SqlParams::Add(std::string value) {
  values_.push_back(std::move(value));
  return absl::StrCat("$", values_.size());
}

std::string EscapeLike(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string FilterCondition(const MessageFilter& filter, SqlParams& params, AddressLookup lookup) {
  if (filter.terms.empty()) return "true";
  std::vector<std::string> parts;
  parts.reserve(filter.terms.size());
  for (const Term& term : filter.terms) {
    std::string sql = TermSql(term, params, lookup);
    // Positive terms stay bare so the planner sees indexable conditions; NULLs there already
    // mean "no match". Negations need the NULL-safe form.
    if (term.negated) {
      parts.push_back(absl::StrCat("NOT coalesce((", sql, "), false)"));
    } else {
      parts.push_back(absl::StrCat("(", sql, ")"));
    }
  }
  return absl::StrJoin(parts, " AND ");
}

int MatchWindowRows(int walk_matches, int wanted) {
  if (walk_matches <= 0) return 0;
  const int64_t rows = int64_t{2} * kRecentWalkRows * wanted / walk_matches;
  return rows > kMaxMatchWindowRows ? 0 : static_cast<int>(rows);
}

bool NeedsBoundedWalk(const MessageFilter& filter) {
  for (const Term& term : filter.terms) {
    if (term.negated) continue;
    switch (term.kind) {
      case TermKind::kWord:
      case TermKind::kPhrase:
      case TermKind::kFrom:
      case TermKind::kTo:
        return true;
      default:
        break;
    }
  }
  return false;
}

namespace {

// Whether `filter` is a single positive from: or to:, which kLinksFirst serves.
bool IsOneAddressTerm(const MessageFilter& filter) {
  return filter.terms.size() == 1 && !filter.terms[0].negated &&
         (filter.terms[0].kind == TermKind::kFrom || filter.terms[0].kind == TermKind::kTo) &&
         DictionaryServes(filter.terms[0]);
}

SqlStatement LinksFirstStatement(const std::optional<std::string>& mailbox_id, const Term& term,
                                 const std::optional<PageCursor>& cursor, int limit) {
  SqlParams params;
  const std::string p = LikePattern(term.text, params);
  std::string mailbox_join;
  if (mailbox_id.has_value()) {
    mailbox_join = absl::StrReplaceAll(kLinksMailboxJoin, {{"{mb}", params.Add(*mailbox_id)}});
  }
  const std::string keyset =
      cursor.has_value() ? KeysetCondition(kLinksKeyset, *cursor, params) : "";
  std::string sql =
      absl::StrReplaceAll(kLinksFirst, {{"{mailbox_join}", mailbox_join},
                                        {"{p}", p},
                                        {"{role}", AddressRole(term.kind)},
                                        {"{keyset}", keyset},
                                        {"{limit}", params.Add(absl::StrCat(limit)) + "::int8"},
                                        {"{columns}", kSummaryColumns}});
  return {std::move(sql), params.values()};
}

}  // namespace

SqlStatement ListStatement(const std::optional<std::string>& mailbox_id,
                           const MessageFilter& filter, const std::optional<PageCursor>& cursor,
                           int limit, ListPlan plan, const std::optional<std::string>& not_before) {
  if (plan == ListPlan::kMatchesFirst && IsOneAddressTerm(filter)) {
    return LinksFirstStatement(mailbox_id, filter.terms[0], cursor, limit);
  }
  SqlParams params;
  const bool in_mailbox = mailbox_id.has_value();
  const std::string mb = in_mailbox ? params.Add(*mailbox_id) : "";
  const std::string condition = FilterCondition(
      filter, params,
      plan == ListPlan::kMatchesFirst ? AddressLookup::kDictionary : AddressLookup::kRowColumns);
  const std::string keyset = PageKeyset(in_mailbox, cursor, params);
  const std::string limit_param = params.Add(absl::StrCat(limit)) + "::int8";
  const std::string from =
      absl::StrReplaceAll(in_mailbox ? kListMailboxFrom : kListAllFrom, {{"{mb}", mb}});
  const char* order = in_mailbox ? kMailboxOrder : kAllOrder;

  std::string sql;
  switch (plan) {
    case ListPlan::kPlanner:
      sql = absl::StrCat("SELECT ", kSummaryColumns, from, condition, keyset, order, " LIMIT ",
                         limit_param);
      break;
    case ListPlan::kRecentWalk:
      sql = absl::StrCat("SELECT ", kSummaryColumns,
                         absl::StrReplaceAll(in_mailbox ? kRecentMailbox : kRecentAll,
                                             {{"{mb}", mb},
                                              {"{keyset}", keyset},
                                              {"{order}", order},
                                              {"{walk}", absl::StrCat(kRecentWalkRows)},
                                              {"{filter}", condition}}),
                         order, " LIMIT ", limit_param);
      break;
    case ListPlan::kMatchesFirst: {
      const std::string window =
          not_before.has_value()
              ? absl::StrReplaceAll(kWindowCondition, {{"{not_before}", params.Add(*not_before)}})
              : "";
      sql = absl::StrReplaceAll(kMatchesFirst, {{"{o}", in_mailbox ? "mm" : "m"},
                                                {"{o_id}", in_mailbox ? "message_id" : "id"},
                                                {"{from}", from},
                                                {"{filter}", condition},
                                                {"{keyset}", keyset},
                                                {"{window}", window},
                                                {"{limit}", limit_param},
                                                {"{columns}", kSummaryColumns}});
      break;
    }
  }
  return {std::move(sql), params.values()};
}

SqlStatement WindowBoundaryStatement(const std::optional<std::string>& mailbox_id,
                                     const std::optional<PageCursor>& cursor, int window_rows) {
  SqlParams params;
  const bool in_mailbox = mailbox_id.has_value();
  const std::string mb = in_mailbox ? params.Add(*mailbox_id) : "";
  const std::string keyset = PageKeyset(in_mailbox, cursor, params);
  std::string sql = absl::StrReplaceAll(in_mailbox ? kMailboxBoundary : kAllBoundary,
                                        {{"{mb}", mb},
                                         {"{keyset}", keyset},
                                         {"{order}", in_mailbox ? kMailboxOrder : kAllOrder},
                                         {"{window}", absl::StrCat(window_rows)}});
  return {std::move(sql), params.values()};
}

SqlStatement DeleteBatchStatement(const std::optional<std::string>& mailbox_id,
                                  const MessageFilter& filter, int limit) {
  SqlParams params;
  std::string mb;
  if (mailbox_id.has_value()) mb = params.Add(*mailbox_id);
  const std::string condition = FilterCondition(filter, params, AddressLookup::kDictionary);
  const std::string limit_param = params.Add(absl::StrCat(limit)) + "::int8";
  std::string sql =
      absl::StrReplaceAll(mailbox_id.has_value() ? kDeleteFromMailbox : kDeleteAll,
                          {{"{mb}", mb}, {"{filter}", condition}, {"{limit}", limit_param}});
  return {std::move(sql), params.values()};
}

}  // namespace mailroom::storage
