#include "storage/session_store.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <pqxx/prepared_statement>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "storage/ids.h"
#include "storage/ingest_batch.h"
#include "storage/ingest_rows.h"
#include "storage/message_sql.h"
#include "storage/page_token.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

// The SessionRow columns, in ReadSession order, over `smtp_sessions s`.
constexpr char kColumns[] = R"sql(s.id::text, s.listener, host(s.client_address), s.client_port,
  coalesce(s.ehlo_name, ''), s.tls_protocol, coalesce(s.tls_cipher, ''),
  coalesce(s.tls_implicit, false), coalesce(s.auth_user, ''), coalesce(s.auth_mechanism, ''),
  (EXTRACT(EPOCH FROM s.started_at) * 1000000)::int8,
  (EXTRACT(EPOCH FROM s.ended_at) * 1000000)::int8, s.message_count, s.outcome,
  coalesce(s.error, ''), s.error_reply_count, jsonb_array_length(s.transcript))sql";

// The proto's definition of "had an error"; every column is NOT NULL, so NOT (...) is exact.
constexpr char kHasError[] = "(s.outcome IN ('error', 'timeout') OR s.error_reply_count > 0)";

constexpr Statement kMessageIds = {"session_store_message_ids", R"sql(
SELECT session_id::text, id::text FROM messages
WHERE session_id = ANY($1::uuid[])
ORDER BY received_at, id)sql"};

constexpr Statement kTranscriptPage = {"session_store_transcript_page", R"sql(
SELECT (x.e->>'t')::int8, coalesce(x.e->>'d', 'I'), coalesce(x.e->>'l', '')
FROM smtp_sessions s CROSS JOIN LATERAL jsonb_array_elements(s.transcript)
  WITH ORDINALITY AS x(e, n)
WHERE s.id = $1::uuid AND x.n > $2::int8
ORDER BY x.n
LIMIT $3::int8)sql"};

// Sessions removed per transaction by DeleteSessions, so that ingest is never held up long.
constexpr int kDeleteBatch = 1000;

// Keeps page tokens of session lists and transcripts apart from message list tokens, whose
// scope hashes a mailbox name (which never starts with a control character).
constexpr char kListScopeTag[] = "\x01sessions";
constexpr char kTranscriptScopeTag[] = "\x01transcript";

bool IsCidrBlock(absl::string_view text) {
  const size_t slash = text.find('/');
  if (slash == absl::string_view::npos) return IsIpAddress(text);
  const absl::string_view address = text.substr(0, slash);
  const absl::string_view bits = text.substr(slash + 1);
  if (!IsIpAddress(address) || bits.empty() || bits.size() > 3) return false;
  int prefix = 0;
  const auto [end, error] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
  if (error != std::errc() || end != bits.data() + bits.size()) return false;
  const int max_bits = address.find(':') == absl::string_view::npos ? 32 : 128;
  return prefix >= 0 && prefix <= max_bits;
}

std::string Micros(const std::optional<absl::Time>& time) {
  return time.has_value() ? absl::StrCat(absl::ToUnixMicros(*time)) : "-";
}

// A page token is only valid with the filters that produced it.
uint64_t ListScope(const SessionFilter& filter) {
  const std::string has_error =
      filter.has_error.has_value() ? (*filter.has_error ? "1" : "0") : "-";
  return PageScope(kListScopeTag, absl::StrJoin({filter.client_address, filter.auth_user, has_error,
                                                 Micros(filter.since), Micros(filter.until)},
                                                "\x1f"));
}

// Returns the WHERE condition for `filter` over `smtp_sessions s`, adding its values.
std::string Condition(const SessionFilter& filter, SqlParams& params) {
  std::vector<std::string> terms;
  if (!filter.ids.empty()) {
    PgArrayBuilder ids;
    for (const std::string& id : filter.ids) ids.Add(id);
    terms.push_back(absl::StrCat("s.id = ANY(", params.Add(std::move(ids).Finish()), "::uuid[])"));
  }
  if (!filter.client_address.empty()) {
    // inet (not cidr) accepts host bits after the slash, and <<= with a bare address is
    // equality, so one term serves both forms.
    terms.push_back(
        absl::StrCat("s.client_address <<= ", params.Add(filter.client_address), "::inet"));
  }
  if (!filter.auth_user.empty()) {
    terms.push_back(absl::StrCat("s.auth_user = ", params.Add(filter.auth_user)));
  }
  if (filter.has_error.has_value()) {
    terms.push_back(*filter.has_error ? kHasError : absl::StrCat("NOT ", kHasError));
  }
  if (filter.since.has_value()) {
    terms.push_back(absl::StrCat("s.started_at >= ", params.Add(TimestampLiteral(*filter.since)),
                                 "::timestamptz"));
  }
  if (filter.until.has_value()) {
    terms.push_back(absl::StrCat("s.started_at < ", params.Add(TimestampLiteral(*filter.until)),
                                 "::timestamptz"));
  }
  if (terms.empty()) return "true";
  return absl::StrJoin(terms, " AND ");
}

pqxx::result Exec(pqxx::transaction_base& txn, const std::string& sql, const SqlParams& params) {
  return txn.exec_params(sql, pqxx::prepare::make_dynamic_params(params.values()));
}

SessionRow ReadSession(const pqxx::row& row) {
  SessionRow s;
  s.id = row[0].as<std::string>();
  s.listener = row[1].as<std::string>();
  s.client_address = row[2].as<std::string>();
  s.client_port = row[3].as<int>();
  s.ehlo_name = row[4].as<std::string>();
  if (!row[5].is_null()) s.tls_protocol = row[5].as<std::string>();
  s.tls_cipher = row[6].as<std::string>();
  s.tls_implicit = row[7].as<bool>();
  s.auth_user = row[8].as<std::string>();
  s.auth_mechanism = row[9].as<std::string>();
  s.started_at = absl::FromUnixMicros(row[10].as<int64_t>());
  s.ended_at = absl::FromUnixMicros(row[11].as<int64_t>());
  s.message_count = row[12].as<int>();
  s.outcome = row[13].as<std::string>();
  s.error = row[14].as<std::string>();
  s.error_reply_count = row[15].as<int>();
  s.transcript_line_count = row[16].as<int>();
  return s;
}

void ReadMessageIds(pqxx::transaction_base& txn, std::vector<SessionRow>& sessions) {
  if (sessions.empty()) return;
  std::map<std::string, SessionRow*> by_id;
  PgArrayBuilder ids;
  for (SessionRow& s : sessions) {
    by_id[s.id] = &s;
    ids.Add(s.id);
  }
  for (const pqxx::row& row : ExecPrepared(txn, kMessageIds, std::move(ids).Finish())) {
    by_id.at(row[0].as<std::string>())->message_ids.push_back(row[1].as<std::string>());
  }
}

}  // namespace

bool SessionFilter::Empty() const {
  return ids.empty() && client_address.empty() && auth_user.empty() && !has_error.has_value() &&
         !since.has_value() && !until.has_value();
}

absl::Status ValidateSessionFilter(const SessionFilter& filter) {
  for (size_t i = 0; i < filter.ids.size(); ++i) {
    if (!IsValidId(filter.ids[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("ids[", i, "]: `", filter.ids[i], "` is not a session id (UUID)"));
    }
  }
  if (!filter.client_address.empty() && !IsCidrBlock(filter.client_address)) {
    return absl::InvalidArgumentError(absl::StrCat("client_address: `", filter.client_address,
                                                   "` is neither an IP address nor a CIDR block"));
  }
  if (filter.since.has_value() && filter.until.has_value() && *filter.until <= *filter.since) {
    return absl::InvalidArgumentError("until: must be after since");
  }
  return absl::OkStatus();
}

absl::StatusOr<SessionPage> ListSessions(ConnectionPool& pool, const SessionListQuery& query) {
  if (query.page_size < 0 || query.page_size > kMaxSessionPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", kMaxSessionPageSize));
  }
  if (absl::Status valid = ValidateSessionFilter(query.filter); !valid.ok()) return valid;
  const int page_size = query.page_size == 0 ? kDefaultSessionPageSize : query.page_size;
  const uint64_t scope = ListScope(query.filter);
  SqlParams params;
  std::string sql = absl::StrCat("SELECT ", kColumns, " FROM smtp_sessions s WHERE ",
                                 Condition(query.filter, params));
  if (!query.page_token.empty()) {
    absl::StatusOr<PageCursor> cursor = DecodePageToken(query.page_token, scope);
    if (!cursor.ok()) return cursor.status();
    const std::string t = params.Add(TimestampLiteral(absl::FromUnixMicros(cursor->received_us)));
    const std::string id = params.Add(cursor->id);
    absl::StrAppend(&sql, " AND (s.started_at, s.id) < (", t, "::timestamptz, ", id, "::uuid)");
  }
  // One row more than asked says whether there is a next page.
  absl::StrAppend(&sql, " ORDER BY s.started_at DESC, s.id DESC LIMIT ", page_size + 1);
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<SessionPage> {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn, "list_sessions");
    const pqxx::result rows = Exec(txn, sql, params);
    SessionPage page;
    for (const pqxx::row& row : rows) {
      if (static_cast<int>(page.sessions.size()) == page_size) break;
      page.sessions.push_back(ReadSession(row));
    }
    ReadMessageIds(txn, page.sessions);
    txn.commit();
    if (static_cast<int>(rows.size()) > page_size) {
      const SessionRow& last = page.sessions.back();
      page.next_page_token = EncodePageToken(
          {.received_us = absl::ToUnixMicros(last.started_at), .id = last.id}, scope);
    }
    return page;
  });
}

absl::StatusOr<SessionDetail> GetSession(ConnectionPool& pool, absl::string_view id,
                                         int transcript_page_size,
                                         absl::string_view transcript_page_token) {
  if (id.empty()) return absl::InvalidArgumentError("id: required");
  if (!IsValidId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("id: `", id, "` is not a session id (UUID)"));
  }
  if (transcript_page_size < 0) {
    return absl::InvalidArgumentError("transcript_page_size: must not be negative");
  }
  const int64_t page_size = transcript_page_size == 0
                                ? kMaxTranscriptPageSize
                                : std::min(transcript_page_size, kMaxTranscriptPageSize);
  const std::string session_id = absl::AsciiStrToLower(id);
  const uint64_t scope = PageScope(kTranscriptScopeTag, session_id);
  int64_t skip = 0;
  if (!transcript_page_token.empty()) {
    absl::StatusOr<PageCursor> cursor = DecodePageToken(transcript_page_token, scope);
    if (!cursor.ok() || cursor->id != session_id || cursor->received_us < 0) {
      absl::string_view why = cursor.ok()
                                  ? "not a token of this session"
                                  : absl::StripPrefix(cursor.status().message(), "page_token: ");
      return absl::InvalidArgumentError(absl::StrCat("transcript_page_token: ", why));
    }
    skip = cursor->received_us;
  }
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<SessionDetail> {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> txn(conn, "get_session");
    SqlParams params;
    const std::string sql =
        absl::StrCat("SELECT ", kColumns,
                     " FROM smtp_sessions s WHERE s.id = ", params.Add(session_id), "::uuid");
    const pqxx::result rows = Exec(txn, sql, params);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("id: no session has the id ", session_id));
    }
    SessionDetail detail;
    std::vector<SessionRow> sessions = {ReadSession(rows[0])};
    ReadMessageIds(txn, sessions);
    detail.session = std::move(sessions[0]);
    // One line more than asked says whether there is a next page.
    for (const pqxx::row& row :
         ExecPrepared(txn, kTranscriptPage, session_id, skip, page_size + 1)) {
      if (static_cast<int64_t>(detail.transcript.size()) == page_size) {
        detail.next_transcript_page_token =
            EncodePageToken({.received_us = skip + page_size, .id = session_id}, scope);
        break;
      }
      const std::string direction = row[1].as<std::string>();
      detail.transcript.push_back(
          {.time = detail.session.started_at + absl::Microseconds(row[0].as<int64_t>(0)),
           .direction = direction.empty() ? 'I' : direction[0],
           .text = row[2].as<std::string>()});
    }
    txn.commit();
    return detail;
  });
}

absl::StatusOr<int64_t> DeleteSessions(ConnectionPool& pool, const SessionFilter& filter) {
  if (absl::Status valid = ValidateSessionFilter(filter); !valid.ok()) return valid;
  SqlParams params;
  const std::string sql =
      absl::StrCat("DELETE FROM smtp_sessions WHERE id IN (SELECT s.id FROM smtp_sessions s WHERE ",
                   Condition(filter, params), " LIMIT ", kDeleteBatch, ")");
  return pool.Run([&](pqxx::connection& conn) -> absl::StatusOr<int64_t> {
    int64_t total = 0;
    while (true) {
      pqxx::work txn(conn, "delete_sessions");
      const int64_t removed = Exec(txn, sql, params).affected_rows();
      txn.commit();
      total += removed;
      if (removed < kDeleteBatch) break;
    }
    return total;
  });
}

}  // namespace mailroom::storage
