#include "storage/ingest_batch.h"

#include <pqxx/binarystring>
#include <pqxx/prepared_statement>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "storage/message_wait.h"
#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

// The batch statement: four data-modifying CTEs, so that a batch is one round trip and,
// run outside a transaction block, one implicit transaction (PostgreSQL runs every CTE to
// completion and checks the foreign keys between them at the end of the statement). Text
// parameters $1..$53 are arrays, one per column; the raw bodies follow as N binary bytea
// parameters, which the messages CTE picks by ordinal (see BatchSql). The address lines of
// the new messages are linked to the address dictionary (migration 0007), entries added
// when new; the search data comes from the functions of migrations 0008 and 0010, which
// bulk loads call too.
constexpr char kBatchHead[] = R"sql(
WITH new_messages AS (
INSERT INTO messages (id, received_at, session_id, auth_user, envelope_from, size_bytes,
  from_header, to_header, cc_header, subject, date_header, message_id_header, has_attachments,
  dsn_ret, dsn_envid, client_address, ehlo_name, tls_protocol, tls_cipher, tls_implicit,
  auth_mechanism, mail_parameters, search_vector, routing, sender_search, recipient_search,
  raw_ascii, raw)
SELECT u.id, u.received_at, u.session_id, u.auth_user, u.envelope_from, u.size_bytes,
  u.from_header, u.to_header, u.cc_header, u.subject, u.date_header, u.message_id_header,
  u.has_attachments, u.dsn_ret, u.dsn_envid, u.client_address, u.ehlo_name, u.tls_protocol,
  u.tls_cipher, u.tls_implicit, u.auth_mechanism, u.mail_parameters,
  mailroom_search_vector(u.subject, u.search_text), u.routing,
  concat_ws(E'\n', u.envelope_from, u.from_header),
  concat_ws(E'\n', u.envelope_to, u.to_header, u.cc_header), u.raw_ascii,
  CASE u.n)sql";
constexpr char kBatchTail[] = R"sql( END
FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::int8[],
  $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[],
  $13::bool[], $14::text[], $15::text[], $16::inet[], $17::text[], $18::text[], $19::text[],
  $20::bool[], $21::text[], $22::jsonb[], $23::text[], $24::jsonb[], $25::text[], $26::bool[])
  WITH ORDINALITY AS u(id, received_at, session_id, auth_user, envelope_from, size_bytes,
    from_header, to_header, cc_header, subject, date_header, message_id_header,
    has_attachments, dsn_ret, dsn_envid, client_address, ehlo_name, tls_protocol, tls_cipher,
    tls_implicit, auth_mechanism, mail_parameters, search_text, routing, envelope_to,
    raw_ascii, n)
  RETURNING id, received_at, sender_search, recipient_search),
address_links AS (
SELECT p.address_id, p.role, n.received_at, n.id AS message_id, p.piece
FROM new_messages n, mailroom_address_pieces(n.sender_search, n.recipient_search) p),
new_addresses AS (
INSERT INTO addresses (id, text)
SELECT DISTINCT ON (address_id) address_id, piece FROM address_links
ON CONFLICT (id) DO NOTHING),
new_address_links AS (
INSERT INTO message_addresses (address_id, role, received_at, message_id)
SELECT address_id, role, received_at, message_id FROM address_links),
new_recipients AS (
INSERT INTO message_recipients (message_id, position, address, dsn_notify, dsn_orcpt, parameters)
SELECT * FROM unnest($27::uuid[], $28::int[], $29::text[], $30::text[], $31::text[],
  $32::jsonb[])),
new_links AS (
INSERT INTO message_mailboxes (mailbox_id, message_id, received_at)
SELECT * FROM unnest($33::uuid[], $34::uuid[], $35::timestamptz[])),
new_sessions AS (
INSERT INTO smtp_sessions (id, listener, client_address, client_port, server_address,
  ehlo_name, tls_protocol, tls_cipher, tls_implicit, auth_user, auth_mechanism, started_at,
  ended_at, message_count, outcome, error, error_reply_count, transcript)
SELECT * FROM unnest($36::uuid[], $37::text[], $38::inet[], $39::int[], $40::text[],
  $41::text[], $42::text[], $43::text[], $44::bool[], $45::text[], $46::text[],
  $47::timestamptz[], $48::timestamptz[], $49::int[], $50::text[], $51::text[], $52::int[],
  $53::jsonb[])
ON CONFLICT (id) DO NOTHING)
SELECT 1)sql";
constexpr int kBatchArrayCount = 53;

// One notification per payload, in order, in one statement. set_config(..., true) is SET
// LOCAL: run alone, the statement is its own transaction, and its commit need not wait
// for the WAL flush (see NotifyNewMessages).
constexpr Statement kAnnounce = {"ingest_announce", R"sql(
SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, payload)
FROM unnest($2::text[]) AS payload)sql"};

// Adds `value` as text, or NULL when it is empty.
void AddOrNull(PgArrayBuilder& array, absl::string_view value) {
  if (value.empty()) {
    array.AddNull();
  } else {
    array.AddText(value);
  }
}

void AddOptional(PgArrayBuilder& array, const std::optional<std::string>& value) {
  if (value.has_value()) {
    array.AddText(*value);
  } else {
    array.AddNull();
  }
}

void AddBool(PgArrayBuilder& array, bool value) { array.Add(value ? "t" : "f"); }

// Whether `raw` is plain ASCII without NUL, i.e. readable as text (migration 0009).
bool IsPlainAscii(absl::string_view raw) {
  bool plain = true;
  // No early exit: a branch-free loop the compiler vectorises, for 100 KiB bodies.
  for (const char c : raw) plain &= static_cast<unsigned char>(c - 1) < 0x7f;
  return plain;
}

// The envelope recipients one per line, for messages.recipient_search (migration 0006).
std::string EnvelopeRecipientLines(absl::Span<const NewRecipient> recipients) {
  std::string lines;
  for (const NewRecipient& recipient : recipients) {
    if (!lines.empty()) lines.push_back('\n');
    lines.append(recipient.address);
  }
  return lines;
}

}  // namespace

std::string TimestampLiteral(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", time, absl::UTCTimeZone());
}

std::string TranscriptJson(absl::Span<const TranscriptRow> transcript) {
  std::string json = "[";
  for (const TranscriptRow& row : transcript) {
    if (json.size() > 1) json.push_back(',');
    absl::StrAppend(&json, "{\"t\":", absl::ToInt64Microseconds(row.offset), ",\"d\":\"",
                    std::string(1, static_cast<char>(row.direction)), "\",\"l\":");
    AppendJsonString(json, row.text);
    json.push_back('}');
  }
  json.push_back(']');
  return json;
}

std::string ParametersJson(absl::Span<const SmtpParameter> parameters) {
  std::string json = "[";
  for (const SmtpParameter& parameter : parameters) {
    if (json.size() > 1) json.push_back(',');
    json.push_back('[');
    AppendJsonString(json, parameter.keyword);
    json.push_back(',');
    AppendJsonString(json, parameter.value);
    json.push_back(']');
  }
  json.push_back(']');
  return json;
}

const std::string& BatchInserter::BatchSql(size_t n) {
  while (batch_sql_.size() <= n) {
    const size_t rows = batch_sql_.size();
    std::string sql = kBatchHead;
    for (size_t i = 1; i <= rows; ++i) {
      absl::StrAppend(&sql, " WHEN ", i, " THEN $", kBatchArrayCount + i, "::bytea");
    }
    // A CASE needs one branch; with no messages it is never evaluated.
    if (rows == 0) sql.append(" WHEN 0 THEN NULL::bytea");
    sql.append(kBatchTail);
    batch_sql_.push_back(std::move(sql));
  }
  return batch_sql_[n];
}

void BatchInserter::Insert(pqxx::transaction_base& txn,
                           absl::Span<const NewMessage* const> messages,
                           absl::Span<const NewSession* const> sessions) {
  std::vector<std::string> arrays;
  arrays.reserve(kBatchArrayCount);
  AddMessageArrays(messages, arrays);
  AddRecipientArrays(messages, arrays);
  AddMailboxLinkArrays(messages, arrays);
  AddSessionArrays(sessions, arrays);
  // Copied into binarystrings only now, and released when this function returns.
  std::vector<pqxx::binarystring> raws;
  raws.reserve(messages.size());
  for (const NewMessage* m : messages) raws.emplace_back(m->raw.data(), m->raw.size());

  const std::string name = absl::StrCat("ingest_batch_", messages.size());
  txn.conn().prepare(name, BatchSql(messages.size()));
  txn.exec_prepared(name, pqxx::prepare::make_dynamic_params(arrays),
                    pqxx::prepare::make_dynamic_params(raws));
}

void BatchInserter::NotifyNewMessages(pqxx::transaction_base& txn,
                                      absl::Span<const NewMessage* const> messages) {
  // Listeners (the WaitForMessage streams of every replica) hear of a message once it can
  // be read. The payload limit is 8000 bytes: long batches are split.
  constexpr size_t kMaxPayload = 7900;
  PgArrayBuilder payloads;
  std::string payload;
  for (const NewMessage* m : messages) {
    if (payload.size() + m->id.size() + 1 > kMaxPayload) {
      payloads.Add(payload);
      payload.clear();
    }
    if (!payload.empty()) payload.push_back(',');
    payload.append(m->id);
  }
  if (!payload.empty()) payloads.Add(payload);
  ExecPrepared(txn, kAnnounce, std::string(kMessagesChannel), std::move(payloads).Finish());
}

void BatchInserter::AddMessageArrays(absl::Span<const NewMessage* const> messages,
                                     std::vector<std::string>& arrays) {
  PgArrayBuilder id, received_at, session_id, auth_user, envelope_from, size_bytes, from_header,
      to_header, cc_header, subject, date_header, message_id_header, has_attachments, dsn_ret,
      dsn_envid, client_address, ehlo_name, tls_protocol, tls_cipher, tls_implicit, auth_mechanism,
      mail_parameters, search_text, routing, envelope_to, raw_ascii;
  for (const NewMessage* m : messages) {
    id.Add(m->id);
    received_at.Add(TimestampLiteral(m->received_at));
    AddOrNull(session_id, m->session_id);
    AddOrNull(auth_user, m->auth_user);
    envelope_from.AddText(m->envelope_from);
    size_bytes.Add(absl::StrCat(m->raw.size()));
    AddOptional(from_header, m->from_header);
    AddOptional(to_header, m->to_header);
    AddOptional(cc_header, m->cc_header);
    AddOptional(subject, m->subject);
    if (m->date_header.has_value()) {
      date_header.Add(TimestampLiteral(*m->date_header));
    } else {
      date_header.AddNull();
    }
    AddOptional(message_id_header, m->message_id_header);
    AddBool(has_attachments, m->has_attachments);
    AddOrNull(dsn_ret, m->dsn_ret);
    AddOrNull(dsn_envid, m->dsn_envid);
    AddOrNull(client_address, m->client_address);
    AddOrNull(ehlo_name, m->ehlo_name);
    if (m->tls.has_value()) {
      tls_protocol.AddText(m->tls->protocol);
      tls_cipher.AddText(m->tls->cipher);
      AddBool(tls_implicit, m->tls->implicit);
    } else {
      tls_protocol.AddNull();
      tls_cipher.AddNull();
      tls_implicit.AddNull();
    }
    AddOrNull(auth_mechanism, m->auth_mechanism);
    mail_parameters.Add(ParametersJson(m->mail_parameters));
    search_text.AddText(m->search_text);
    AddOrNull(routing, m->routing);
    envelope_to.AddText(EnvelopeRecipientLines(m->recipients));
    AddBool(raw_ascii, IsPlainAscii(m->raw));
  }
  for (PgArrayBuilder* array : {&id,
                                &received_at,
                                &session_id,
                                &auth_user,
                                &envelope_from,
                                &size_bytes,
                                &from_header,
                                &to_header,
                                &cc_header,
                                &subject,
                                &date_header,
                                &message_id_header,
                                &has_attachments,
                                &dsn_ret,
                                &dsn_envid,
                                &client_address,
                                &ehlo_name,
                                &tls_protocol,
                                &tls_cipher,
                                &tls_implicit,
                                &auth_mechanism,
                                &mail_parameters,
                                &search_text,
                                &routing,
                                &envelope_to,
                                &raw_ascii}) {
    arrays.push_back(std::move(*array).Finish());
  }
}

void BatchInserter::AddRecipientArrays(absl::Span<const NewMessage* const> messages,
                                       std::vector<std::string>& arrays) {
  PgArrayBuilder message_id, position, address, dsn_notify, dsn_orcpt, parameters;
  for (const NewMessage* m : messages) {
    for (size_t i = 0; i < m->recipients.size(); ++i) {
      const NewRecipient& r = m->recipients[i];
      message_id.Add(m->id);
      position.Add(absl::StrCat(i));
      address.AddText(r.address);
      AddOrNull(dsn_notify, r.dsn_notify);
      AddOrNull(dsn_orcpt, r.dsn_orcpt);
      parameters.Add(ParametersJson(r.parameters));
    }
  }
  for (PgArrayBuilder* array :
       {&message_id, &position, &address, &dsn_notify, &dsn_orcpt, &parameters}) {
    arrays.push_back(std::move(*array).Finish());
  }
}

void BatchInserter::AddMailboxLinkArrays(absl::Span<const NewMessage* const> messages,
                                         std::vector<std::string>& arrays) {
  PgArrayBuilder mailbox_id, message_id, received_at;
  for (const NewMessage* m : messages) {
    if (m->mailbox_ids.empty()) continue;
    const std::string time = TimestampLiteral(m->received_at);
    for (const std::string& mailbox : m->mailbox_ids) {
      mailbox_id.Add(mailbox);
      message_id.Add(m->id);
      received_at.Add(time);
    }
  }
  for (PgArrayBuilder* array : {&mailbox_id, &message_id, &received_at}) {
    arrays.push_back(std::move(*array).Finish());
  }
}

void BatchInserter::AddSessionArrays(absl::Span<const NewSession* const> sessions,
                                     std::vector<std::string>& arrays) {
  PgArrayBuilder id, listener, client_address, client_port, server_address, ehlo_name, tls_protocol,
      tls_cipher, tls_implicit, auth_user, auth_mechanism, started_at, ended_at, message_count,
      outcome, error, error_reply_count, transcript;
  for (const NewSession* s : sessions) {
    id.Add(s->id);
    listener.AddText(s->listener);
    client_address.Add(s->client_address);
    client_port.Add(absl::StrCat(s->client_port));
    server_address.AddText(s->server_address);
    AddOrNull(ehlo_name, s->ehlo_name);
    if (s->tls.has_value()) {
      tls_protocol.AddText(s->tls->protocol);
      tls_cipher.AddText(s->tls->cipher);
      AddBool(tls_implicit, s->tls->implicit);
    } else {
      tls_protocol.AddNull();
      tls_cipher.AddNull();
      tls_implicit.AddNull();
    }
    AddOrNull(auth_user, s->auth_user);
    AddOrNull(auth_mechanism, s->auth_mechanism);
    started_at.Add(TimestampLiteral(s->started_at));
    ended_at.Add(TimestampLiteral(s->ended_at));
    message_count.Add(absl::StrCat(s->message_count));
    outcome.Add(s->outcome);
    AddOrNull(error, s->error);
    error_reply_count.Add(absl::StrCat(s->error_reply_count));
    transcript.Add(TranscriptJson(s->transcript));
  }
  for (PgArrayBuilder* array :
       {&id, &listener, &client_address, &client_port, &server_address, &ehlo_name, &tls_protocol,
        &tls_cipher, &tls_implicit, &auth_user, &auth_mechanism, &started_at, &ended_at,
        &message_count, &outcome, &error, &error_reply_count, &transcript}) {
    arrays.push_back(std::move(*array).Finish());
  }
}

}  // namespace mailroom::storage
