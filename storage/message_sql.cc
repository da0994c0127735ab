#include "storage/message_sql.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "storage/ingest_batch.h"
#include "storage/message_summaries.h"

namespace mailroom::storage {
namespace {

// Without a mailbox the walk follows messages_received_idx; with one, the primary key of
// message_mailboxes (mailbox_id, received_at, message_id), which holds a copy of
// received_at for exactly this purpose, then joins the few messages rows of the page. `o`
// is the alias that carries the order: m, or mm in a mailbox.
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

// ListPlan::kMatchesFirst: MATERIALIZED keeps the page's ORDER BY and LIMIT out of the
// matching, so PostgreSQL cannot walk the time index and has to find the matches through
// the search indexes; only the page is then joined back for its columns.
constexpr char kMatchesFirst[] = R"sql(
WITH hits AS MATERIALIZED (SELECT {o}.{o_id} AS id, {o}.received_at{from}{filter}{keyset}),
page AS (SELECT id, received_at FROM hits ORDER BY received_at DESC, id DESC LIMIT {limit})
SELECT {columns} FROM page JOIN messages m ON m.id = page.id
ORDER BY page.received_at DESC, page.id DESC)sql";

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

// The SQL of one term, without its negation.
std::string TermSql(const Term& term, SqlParams& params) {
  const auto like = [&] { return params.Add(absl::StrCat("%", EscapeLike(term.text), "%")); };
  switch (term.kind) {
    case TermKind::kWord:
      return absl::StrCat("m.search_vector @@ plainto_tsquery('simple', ", params.Add(term.text),
                          ")");
    case TermKind::kPhrase:
      return absl::StrCat("m.search_vector @@ phraseto_tsquery('simple', ", params.Add(term.text),
                          ")");
    case TermKind::kFrom:
      // The envelope sender and the From header (migration 0006).
      return absl::StrCat("m.sender_search ILIKE ", like());
    case TermKind::kTo:
      // The envelope recipients and the To and Cc headers (migration 0006). Bcc is not
      // stored, so it cannot be searched; the envelope covers the usual case of a Bcc
      // recipient of a captured message.
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

std::string FilterCondition(const MessageFilter& filter, SqlParams& params) {
  if (filter.terms.empty()) return "true";
  std::vector<std::string> parts;
  parts.reserve(filter.terms.size());
  for (const Term& term : filter.terms) {
    std::string sql = TermSql(term, params);
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

bool NeedsBoundedWalk(const MessageFilter& filter) {
  for (const Term& term : filter.terms) {
    if (!term.negated && (term.kind == TermKind::kWord || term.kind == TermKind::kPhrase)) {
      return true;
    }
  }
  return false;
}

SqlStatement ListStatement(const std::optional<std::string>& mailbox_id,
                           const MessageFilter& filter, const std::optional<PageCursor>& cursor,
                           int limit, ListPlan plan) {
  SqlParams params;
  const bool in_mailbox = mailbox_id.has_value();
  const std::string mb = in_mailbox ? params.Add(*mailbox_id) : "";
  const std::string condition = FilterCondition(filter, params);
  std::string keyset;
  if (cursor.has_value()) {
    const std::string t = params.Add(TimestampLiteral(absl::FromUnixMicros(cursor->received_us)));
    const std::string id = params.Add(cursor->id);
    keyset =
        absl::StrReplaceAll(in_mailbox ? kMailboxKeyset : kAllKeyset, {{"{t}", t}, {"{id}", id}});
  }
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
    case ListPlan::kMatchesFirst:
      sql = absl::StrReplaceAll(kMatchesFirst, {{"{o}", in_mailbox ? "mm" : "m"},
                                                {"{o_id}", in_mailbox ? "message_id" : "id"},
                                                {"{from}", from},
                                                {"{filter}", condition},
                                                {"{keyset}", keyset},
                                                {"{limit}", limit_param},
                                                {"{columns}", kSummaryColumns}});
      break;
  }
  return {std::move(sql), params.values()};
}

SqlStatement DeleteBatchStatement(const std::optional<std::string>& mailbox_id,
                                  const MessageFilter& filter, int limit) {
  SqlParams params;
  std::string mb;
  if (mailbox_id.has_value()) mb = params.Add(*mailbox_id);
  const std::string condition = FilterCondition(filter, params);
  const std::string limit_param = params.Add(absl::StrCat(limit)) + "::int8";
  std::string sql =
      absl::StrReplaceAll(mailbox_id.has_value() ? kDeleteFromMailbox : kDeleteAll,
                          {{"{mb}", mb}, {"{filter}", condition}, {"{limit}", limit_param}});
  return {std::move(sql), params.values()};
}

}  // namespace mailroom::storage
