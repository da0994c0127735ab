#include "storage/message_reader.h"

#include <optional>
#include <pqxx/array>
#include <pqxx/binarystring>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/ids.h"
#include "storage/statement.h"

namespace mailroom::storage {
namespace {

// A message with its details in one statement, so that GetMessage costs one round trip and
// reads one snapshot. Times leave PostgreSQL as whole microseconds since the epoch: exact,
// and no text parsing. The lists come as arrays in their order: MAIL parameters (keywords,
// values), recipients, recipient parameters flattened (recipient position, keyword, value)
// and mailboxes in routing order (position, then name). Every text element is sent with a
// leading space, which makes PostgreSQL quote it: libpqxx 6.4's array parser splits an
// unquoted element at ';' (its other separator), and "rfc822;bob@example.com" is an ORCPT
// value. {raw} is kRawColumns or nothing.
// The raw bytes as text when they are plain ASCII (migration 0009: no hex to format, send
// and decode, half the bytes), else as bytea; one of the two is NULL.
constexpr char kRawColumns[] =
    ", CASE WHEN m.raw_ascii THEN convert_from(m.raw, 'UTF8') END,"
    " CASE WHEN NOT m.raw_ascii THEN m.raw END";

constexpr char kSelectMessageSql[] = R"sql(
SELECT m.id::text, (extract(epoch FROM m.received_at) * 1000000)::bigint,
  coalesce(m.session_id::text, ''), coalesce(m.auth_user, ''), m.envelope_from,
  coalesce(m.from_header, ''), coalesce(m.to_header, ''), coalesce(m.cc_header, ''),
  coalesce(m.subject, ''), (extract(epoch FROM m.date_header) * 1000000)::bigint,
  coalesce(m.message_id_header, ''), m.size_bytes, m.is_read, m.has_attachments,
  coalesce(m.auth_mechanism, ''), coalesce(host(m.client_address), ''),
  coalesce(m.ehlo_name, ''), m.tls_protocol, coalesce(m.tls_cipher, ''),
  coalesce(m.tls_implicit, false), coalesce(m.routing::text, ''),
  ARRAY(SELECT ' ' || (p.e->>0) FROM jsonb_array_elements(m.mail_parameters) WITH ORDINALITY AS p(e, ord)
        ORDER BY p.ord),
  ARRAY(SELECT ' ' || coalesce(p.e->>1, '')
        FROM jsonb_array_elements(m.mail_parameters) WITH ORDINALITY AS p(e, ord) ORDER BY p.ord),
  ARRAY(SELECT ' ' || r.address FROM message_recipients r WHERE r.message_id = m.id
        ORDER BY r.position),
  ARRAY(SELECT ' ' || r.position FROM message_recipients r,
          jsonb_array_elements(r.parameters) WITH ORDINALITY AS p(e, ord)
        WHERE r.message_id = m.id ORDER BY r.position, p.ord),
  ARRAY(SELECT ' ' || (p.e->>0) FROM message_recipients r,
          jsonb_array_elements(r.parameters) WITH ORDINALITY AS p(e, ord)
        WHERE r.message_id = m.id ORDER BY r.position, p.ord),
  ARRAY(SELECT ' ' || coalesce(p.e->>1, '') FROM message_recipients r,
          jsonb_array_elements(r.parameters) WITH ORDINALITY AS p(e, ord)
        WHERE r.message_id = m.id ORDER BY r.position, p.ord),
  ARRAY(SELECT ' ' || b.name FROM message_mailboxes mm JOIN mailboxes b ON b.id = mm.mailbox_id
        WHERE mm.message_id = m.id ORDER BY b.position, b.name){raw}
FROM messages m WHERE m.id = $1)sql";

const Statement& SelectMessage(bool with_raw) {
  static const std::string* const kWithout =
      new std::string(absl::StrReplaceAll(kSelectMessageSql, {{"{raw}", ""}}));
  static const std::string* const kWith =
      new std::string(absl::StrReplaceAll(kSelectMessageSql, {{"{raw}", kRawColumns}}));
  static const Statement kSelect{"message_reader_select", kWithout->c_str()};
  static const Statement kSelectWithRaw{"message_reader_select_raw", kWith->c_str()};
  return with_raw ? kSelectWithRaw : kSelect;
}

// substring() on bytea takes int positions (a stored message is below 2 GiB: the SMTP limit
// is an int32). It detoasts only up to the end of the slice, so each chunk costs one
// chunk of memory, not the whole message.
constexpr Statement kSelectRawChunk{
    "message_reader_raw_chunk",
    "SELECT substring(raw FROM $2::int FOR $3::int) FROM messages WHERE id = $1"};

const Statement& SelectRaw() {
  static const std::string* const kSql =
      new std::string(absl::StrCat("SELECT true", kRawColumns, " FROM messages m WHERE m.id = $1"));
  static const Statement kSelectRaw{"message_reader_raw", kSql->c_str()};
  return kSelectRaw;
}

// The raw bytes from the two kRawColumns fields starting at `text`.
std::string RawFrom(const pqxx::row& row, pqxx::row::size_type text) {
  if (!row[text].is_null()) return std::string(row[text].c_str(), row[text].size());
  return pqxx::binarystring(row[text + 1]).str();
}

constexpr Statement kDeleteMessage{"message_reader_delete", "DELETE FROM messages WHERE id = $1"};

constexpr Statement kSetRead{"message_reader_set_read",
                             "UPDATE messages SET is_read = $2 WHERE id = $1"};

absl::Status NoMessage(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("id: no message has id ", id));
}

absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

// The elements of a one-dimensional array field whose elements were sent with a leading
// space (see kSelectMessageSql), without it.
std::vector<std::string> TextArray(const pqxx::field& field) {
  std::vector<std::string> values;
  pqxx::array_parser parser = field.as_array();
  for (auto [juncture, value] = parser.get_next(); juncture != pqxx::array_parser::done;
       std::tie(juncture, value) = parser.get_next()) {
    if (juncture == pqxx::array_parser::string_value) values.push_back(value.substr(1));
  }
  return values;
}

std::vector<SmtpParameter> Parameters(std::vector<std::string> keywords,
                                      std::vector<std::string> values) {
  std::vector<SmtpParameter> parameters;
  for (size_t i = 0; i < keywords.size() && i < values.size(); ++i) {
    parameters.push_back({.keyword = std::move(keywords[i]), .value = std::move(values[i])});
  }
  return parameters;
}

std::optional<MessageRecord> LoadRecord(pqxx::transaction_base& txn, const std::string& id,
                                        bool with_raw) {
  pqxx::result rows = ExecPrepared(txn, SelectMessage(with_raw), id);
  if (rows.empty()) return std::nullopt;
  const pqxx::row row = rows[0];
  MessageRecord record;
  MessageSummaryRow& s = record.summary;
  s.id = row[0].as<std::string>();
  s.received_at = FromMicros(row[1].as<int64_t>());
  s.session_id = row[2].as<std::string>();
  s.auth_user = row[3].as<std::string>();
  s.envelope_from = row[4].as<std::string>();
  s.from_header = row[5].as<std::string>();
  s.to_header = row[6].as<std::string>();
  s.cc_header = row[7].as<std::string>();
  s.subject = row[8].as<std::string>();
  if (!row[9].is_null()) s.date = FromMicros(row[9].as<int64_t>());
  s.message_id_header = row[10].as<std::string>();
  s.size_bytes = row[11].as<int64_t>();
  s.read = row[12].as<bool>();
  s.has_attachments = row[13].as<bool>();
  record.auth_mechanism = row[14].as<std::string>();
  record.client_address = row[15].as<std::string>();
  record.ehlo_name = row[16].as<std::string>();
  if (!row[17].is_null()) {
    record.tls = TlsFacts{.protocol = row[17].as<std::string>(),
                          .cipher = row[18].as<std::string>(),
                          .implicit = row[19].as<bool>()};
  }
  record.routing = row[20].as<std::string>();
  s.mail_parameters = Parameters(TextArray(row[21]), TextArray(row[22]));
  for (std::string& address : TextArray(row[23])) {
    s.recipients.push_back(StoredRecipient{.address = std::move(address)});
  }
  const std::vector<std::string> positions = TextArray(row[24]);
  std::vector<SmtpParameter> parameters = Parameters(TextArray(row[25]), TextArray(row[26]));
  for (size_t i = 0; i < positions.size() && i < parameters.size(); ++i) {
    const size_t position = std::stoul(positions[i]);
    if (position < s.recipients.size()) {
      s.recipients[position].parameters.push_back(std::move(parameters[i]));
    }
  }
  s.mailboxes = TextArray(row[27]);
  if (with_raw) record.raw = RawFrom(row, 28);
  return record;
}

}  // namespace

absl::StatusOr<MessageRecord> GetMessageRecord(ConnectionPool& pool, absl::string_view id,
                                               bool with_raw) {
  if (!IsValidId(id)) return NoMessage(id);
  const std::string key(id);
  absl::StatusOr<std::optional<MessageRecord>> record = pool.Run([&](pqxx::connection& conn) {
    // One statement reads one snapshot: no BEGIN and COMMIT round trips needed.
    pqxx::nontransaction txn(conn);
    return LoadRecord(txn, key, with_raw);
  });
  if (!record.ok()) return record.status();
  if (!record->has_value()) return NoMessage(id);
  return std::move(**record);
}

absl::StatusOr<std::string> ReadRawChunk(ConnectionPool& pool, absl::string_view id, int64_t offset,
                                         int64_t length) {
  if (!IsValidId(id)) return NoMessage(id);
  const std::string key(id);
  absl::StatusOr<std::optional<std::string>> chunk =
      pool.Run([&](pqxx::connection& conn) -> std::optional<std::string> {
        pqxx::read_transaction txn(conn);
        // SQL substring positions count from 1.
        pqxx::result rows = ExecPrepared(txn, kSelectRawChunk, key, static_cast<int>(offset + 1),
                                         static_cast<int>(length));
        if (rows.empty()) return std::nullopt;
        return pqxx::binarystring(rows[0][0]).str();
      });
  if (!chunk.ok()) return chunk.status();
  if (!chunk->has_value()) return NoMessage(id);
  return std::move(**chunk);
}

absl::StatusOr<std::string> ReadRaw(ConnectionPool& pool, absl::string_view id) {
  if (!IsValidId(id)) return NoMessage(id);
  const std::string key(id);
  absl::StatusOr<std::optional<std::string>> raw =
      pool.Run([&](pqxx::connection& conn) -> std::optional<std::string> {
        pqxx::read_transaction txn(conn);
        pqxx::result rows = ExecPrepared(txn, SelectRaw(), key);
        if (rows.empty()) return std::nullopt;
        return RawFrom(rows[0], 1);
      });
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return NoMessage(id);
  return std::move(**raw);
}

absl::Status DeleteMessage(ConnectionPool& pool, absl::string_view id) {
  if (!IsValidId(id)) return NoMessage(id);
  const std::string key(id);
  absl::StatusOr<size_t> deleted = pool.Run([&](pqxx::connection& conn) -> size_t {
    pqxx::work txn(conn);
    pqxx::result result = ExecPrepared(txn, kDeleteMessage, key);
    txn.commit();
    return result.affected_rows();
  });
  if (!deleted.ok()) return deleted.status();
  if (*deleted == 0) return NoMessage(id);
  return absl::OkStatus();
}

absl::StatusOr<MessageRecord> SetMessageRead(ConnectionPool& pool, absl::string_view id,
                                             bool read) {
  if (!IsValidId(id)) return NoMessage(id);
  const std::string key(id);
  absl::StatusOr<std::optional<MessageRecord>> record = pool.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    ExecPrepared(txn, kSetRead, key, read);
    std::optional<MessageRecord> after = LoadRecord(txn, key, /*with_raw=*/false);
    txn.commit();
    return after;
  });
  if (!record.ok()) return record.status();
  if (!record->has_value()) return NoMessage(id);
  return std::move(**record);
}

}  // namespace mailroom::storage
