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

// The message columns in statement order; raw comes last, from the binary parameters.
constexpr char kMessageInsertHead[] = R"sql(
INSERT INTO messages (id, received_at, session_id, auth_user, envelope_from, size_bytes,
  from_header, to_header, cc_header, subject, date_header, message_id_header, has_attachments,
  dsn_ret, dsn_envid, client_address, ehlo_name, tls_protocol, tls_cipher, tls_implicit,
  auth_mechanism, mail_parameters, search_vector, routing, sender_search, recipient_search,
  raw)
SELECT u.id, u.received_at, u.session_id, u.auth_user, u.envelope_from, u.size_bytes,
  u.from_header, u.to_header, u.cc_header, u.subject, u.date_header, u.message_id_header,
  u.has_attachments, u.dsn_ret, u.dsn_envid, u.client_address, u.ehlo_name, u.tls_protocol,
  u.tls_cipher, u.tls_implicit, u.auth_mechanism, u.mail_parameters,
  to_tsvector('simple'::regconfig, coalesce(u.subject, '') || ' ' || u.search_text), u.routing,
  concat_ws(E'\n', u.envelope_from, u.from_header),
  concat_ws(E'\n', u.envelope_to, u.to_header, u.cc_header),
  CASE u.n)sql";
constexpr char kMessageInsertTail[] = R"sql( END
FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::int8[],
  $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[],
  $13::bool[], $14::text[], $15::text[], $16::inet[], $17::text[], $18::text[], $19::text[],
  $20::bool[], $21::text[], $22::jsonb[], $23::text[], $24::jsonb[], $25::text[])
  WITH ORDINALITY AS u(id, received_at, session_id, auth_user, envelope_from, size_bytes,
    from_header, to_header, cc_header, subject, date_header, message_id_header,
    has_attachments, dsn_ret, dsn_envid, client_address, ehlo_name, tls_protocol, tls_cipher,
    tls_implicit, auth_mechanism, mail_parameters, search_text, routing, envelope_to, n))sql";
constexpr int kMessageArrayCount = 25;

constexpr Statement kInsertRecipients = {"ingest_recipients", R"sql(
INSERT INTO message_recipients (message_id, position, address, dsn_notify, dsn_orcpt, parameters)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::jsonb[]))sql"};

constexpr Statement kInsertMailboxLinks = {"ingest_mailbox_links", R"sql(
INSERT INTO message_mailboxes (mailbox_id, message_id, received_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]))sql"};

constexpr Statement kInsertSessions = {"ingest_sessions", R"sql(
INSERT INTO smtp_sessions (id, listener, client_address, client_port, server_address,
  ehlo_name, tls_protocol, tls_cipher, tls_implicit, auth_user, auth_mechanism, started_at,
  ended_at, message_count, outcome, error, error_reply_count, transcript)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::inet[], $4::int[], $5::text[], $6::text[],
  $7::text[], $8::text[], $9::bool[], $10::text[], $11::text[], $12::timestamptz[],
  $13::timestamptz[], $14::int[], $15::text[], $16::text[], $17::int[], $18::jsonb[])
ON CONFLICT (id) DO NOTHING)sql"};

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

const std::string& BatchInserter::MessageSql(size_t n) {
  while (message_sql_.size() < n) {
    const size_t rows = message_sql_.size() + 1;
    std::string sql = kMessageInsertHead;
    for (size_t i = 1; i <= rows; ++i) {
      absl::StrAppend(&sql, " WHEN ", i, " THEN $", kMessageArrayCount + i, "::bytea");
    }
    sql.append(kMessageInsertTail);
    message_sql_.push_back(std::move(sql));
  }
  return message_sql_[n - 1];
}

void BatchInserter::Insert(pqxx::transaction_base& txn,
                           absl::Span<const NewMessage* const> messages,
                           absl::Span<const NewSession* const> sessions) {
  if (!messages.empty()) {
    InsertMessages(txn, messages);
    InsertRecipients(txn, messages);
    InsertMailboxLinks(txn, messages);
  }
  if (!sessions.empty()) InsertSessions(txn, sessions);
}

void BatchInserter::NotifyNewMessages(pqxx::transaction_base& txn,
                                      absl::Span<const NewMessage* const> messages) {
  // Listeners (the WaitForMessage streams of every replica) hear of a message once it can
  // be read. The payload limit is 8000 bytes: long batches are split.
  constexpr size_t kMaxPayload = 7900;
  std::string payload;
  const auto flush = [&] {
    if (payload.empty()) return;
    txn.exec_params("SELECT pg_notify($1, $2)", std::string(kMessagesChannel), payload);
    payload.clear();
  };
  for (const NewMessage* m : messages) {
    if (payload.size() + m->id.size() + 1 > kMaxPayload) flush();
    if (!payload.empty()) payload.push_back(',');
    payload.append(m->id);
  }
  flush();
}

void BatchInserter::InsertMessages(pqxx::transaction_base& txn,
                                   absl::Span<const NewMessage* const> messages) {
  PgArrayBuilder id, received_at, session_id, auth_user, envelope_from, size_bytes, from_header,
      to_header, cc_header, subject, date_header, message_id_header, has_attachments, dsn_ret,
      dsn_envid, client_address, ehlo_name, tls_protocol, tls_cipher, tls_implicit, auth_mechanism,
      mail_parameters, search_text, routing, envelope_to;
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
  }
  // Copied into binarystrings only now, and released when this function returns.
  std::vector<pqxx::binarystring> raws;
  raws.reserve(messages.size());
  for (const NewMessage* m : messages) raws.emplace_back(m->raw.data(), m->raw.size());

  const std::string name = absl::StrCat("ingest_messages_", messages.size());
  txn.conn().prepare(name, MessageSql(messages.size()));
  txn.exec_prepared(name, std::move(id).Finish(), std::move(received_at).Finish(),
                    std::move(session_id).Finish(), std::move(auth_user).Finish(),
                    std::move(envelope_from).Finish(), std::move(size_bytes).Finish(),
                    std::move(from_header).Finish(), std::move(to_header).Finish(),
                    std::move(cc_header).Finish(), std::move(subject).Finish(),
                    std::move(date_header).Finish(), std::move(message_id_header).Finish(),
                    std::move(has_attachments).Finish(), std::move(dsn_ret).Finish(),
                    std::move(dsn_envid).Finish(), std::move(client_address).Finish(),
                    std::move(ehlo_name).Finish(), std::move(tls_protocol).Finish(),
                    std::move(tls_cipher).Finish(), std::move(tls_implicit).Finish(),
                    std::move(auth_mechanism).Finish(), std::move(mail_parameters).Finish(),
                    std::move(search_text).Finish(), std::move(routing).Finish(),
                    std::move(envelope_to).Finish(), pqxx::prepare::make_dynamic_params(raws));
}

void BatchInserter::InsertRecipients(pqxx::transaction_base& txn,
                                     absl::Span<const NewMessage* const> messages) {
  PgArrayBuilder message_id, position, address, dsn_notify, dsn_orcpt, parameters;
  bool any = false;
  for (const NewMessage* m : messages) {
    for (size_t i = 0; i < m->recipients.size(); ++i) {
      const NewRecipient& r = m->recipients[i];
      message_id.Add(m->id);
      position.Add(absl::StrCat(i));
      address.AddText(r.address);
      AddOrNull(dsn_notify, r.dsn_notify);
      AddOrNull(dsn_orcpt, r.dsn_orcpt);
      parameters.Add(ParametersJson(r.parameters));
      any = true;
    }
  }
  if (!any) return;
  ExecPrepared(txn, kInsertRecipients, std::move(message_id).Finish(), std::move(position).Finish(),
               std::move(address).Finish(), std::move(dsn_notify).Finish(),
               std::move(dsn_orcpt).Finish(), std::move(parameters).Finish());
}

void BatchInserter::InsertMailboxLinks(pqxx::transaction_base& txn,
                                       absl::Span<const NewMessage* const> messages) {
  PgArrayBuilder mailbox_id, message_id, received_at;
  bool any = false;
  for (const NewMessage* m : messages) {
    if (m->mailbox_ids.empty()) continue;
    const std::string time = TimestampLiteral(m->received_at);
    for (const std::string& mailbox : m->mailbox_ids) {
      mailbox_id.Add(mailbox);
      message_id.Add(m->id);
      received_at.Add(time);
      any = true;
    }
  }
  if (!any) return;
  ExecPrepared(txn, kInsertMailboxLinks, std::move(mailbox_id).Finish(),
               std::move(message_id).Finish(), std::move(received_at).Finish());
}

void BatchInserter::InsertSessions(pqxx::transaction_base& txn,
                                   absl::Span<const NewSession* const> sessions) {
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
  ExecPrepared(txn, kInsertSessions, std::move(id).Finish(), std::move(listener).Finish(),
               std::move(client_address).Finish(), std::move(client_port).Finish(),
               std::move(server_address).Finish(), std::move(ehlo_name).Finish(),
               std::move(tls_protocol).Finish(), std::move(tls_cipher).Finish(),
               std::move(tls_implicit).Finish(), std::move(auth_user).Finish(),
               std::move(auth_mechanism).Finish(), std::move(started_at).Finish(),
               std::move(ended_at).Finish(), std::move(message_count).Finish(),
               std::move(outcome).Finish(), std::move(error).Finish(),
               std::move(error_reply_count).Finish(), std::move(transcript).Finish());
}

}  // namespace mailroom::storage
