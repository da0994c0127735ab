#include "tests/integration/stored_mail.h"

#include <exception>
#include <pqxx/binarystring>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace mailroom::testing {
namespace {

constexpr char kMessagesSql[] = R"sql(
SELECT m.id::text, coalesce(m.session_id::text, ''), m.envelope_from, m.raw, m.size_bytes,
       m.has_attachments, m.subject, m.ehlo_name, m.tls_protocol, m.tls_implicit, m.auth_user,
       m.auth_mechanism, m.mail_parameters::text,
       (SELECT coalesce(string_agg(r.address, E'\n' ORDER BY r.position), '')
          FROM message_recipients r WHERE r.message_id = m.id),
       (SELECT coalesce(string_agg(b.name, E'\n' ORDER BY b.name), '')
          FROM message_mailboxes mm JOIN mailboxes b ON b.id = mm.mailbox_id
         WHERE mm.message_id = m.id)
  FROM messages m
 ORDER BY m.received_at, m.id)sql";

// Transcript lines are sanitized by the engine (no raw control characters), so one line per
// entry joined with LF is unambiguous.
constexpr char kSessionsSql[] = R"sql(
SELECT s.id::text, s.listener, s.outcome, s.error, s.ehlo_name, s.tls_protocol, s.tls_implicit,
       s.auth_user, s.auth_mechanism, s.message_count, s.error_reply_count, s.transcript::text,
       (SELECT coalesce(string_agg((x.e ->> 'd') || ': ' || (x.e ->> 'l'), E'\n' ORDER BY x.n), '')
          FROM jsonb_array_elements(s.transcript) WITH ORDINALITY AS x(e, n))
  FROM smtp_sessions s
 ORDER BY s.started_at, s.id)sql";

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

std::optional<bool> OptionalBool(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<bool>();
}

std::vector<std::string> Lines(const pqxx::field& field) {
  return absl::StrSplit(field.as<std::string>(), '\n', absl::SkipEmpty());
}

// Runs `sql` on a fresh connection; database errors become Unavailable.
absl::StatusOr<pqxx::result> Query(const std::string& url, const char* sql) {
  try {
    pqxx::connection connection(url);
    pqxx::nontransaction transaction(connection);
    return transaction.exec(sql);
  } catch (const std::exception& error) {
    return absl::UnavailableError(absl::StrCat("reading the mailroom database: ", error.what()));
  }
}

}  // namespace

absl::StatusOr<std::vector<StoredMessage>> StoredMail::Messages() const {
  absl::StatusOr<pqxx::result> rows = Query(url_, kMessagesSql);
  if (!rows.ok()) return rows.status();
  std::vector<StoredMessage> messages;
  for (const pqxx::row& row : *rows) {
    StoredMessage message;
    message.id = row[0].as<std::string>();
    message.session_id = row[1].as<std::string>();
    message.envelope_from = row[2].as<std::string>();
    message.raw = pqxx::binarystring(row[3]).str();
    message.size_bytes = row[4].as<int64_t>();
    message.has_attachments = row[5].as<bool>();
    message.subject = OptionalText(row[6]);
    message.ehlo_name = OptionalText(row[7]);
    message.tls_protocol = OptionalText(row[8]);
    message.tls_implicit = OptionalBool(row[9]);
    message.auth_user = OptionalText(row[10]);
    message.auth_mechanism = OptionalText(row[11]);
    message.mail_parameters = row[12].as<std::string>();
    message.recipients = Lines(row[13]);
    message.mailboxes = Lines(row[14]);
    messages.push_back(std::move(message));
  }
  return messages;
}

absl::StatusOr<std::vector<StoredSession>> StoredMail::Sessions() const {
  absl::StatusOr<pqxx::result> rows = Query(url_, kSessionsSql);
  if (!rows.ok()) return rows.status();
  std::vector<StoredSession> sessions;
  for (const pqxx::row& row : *rows) {
    StoredSession session;
    session.id = row[0].as<std::string>();
    session.listener = row[1].as<std::string>();
    session.outcome = row[2].as<std::string>();
    session.error = OptionalText(row[3]);
    session.ehlo_name = OptionalText(row[4]);
    session.tls_protocol = OptionalText(row[5]);
    session.tls_implicit = OptionalBool(row[6]);
    session.auth_user = OptionalText(row[7]);
    session.auth_mechanism = OptionalText(row[8]);
    session.message_count = row[9].as<int>();
    session.error_reply_count = row[10].as<int>();
    session.transcript_json = row[11].as<std::string>();
    session.transcript = Lines(row[12]);
    sessions.push_back(std::move(session));
  }
  return sessions;
}

absl::StatusOr<std::vector<StoredSession>> StoredMail::WaitForSessions(
    size_t count, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<std::vector<StoredSession>> sessions = Sessions();
    if (sessions.ok() && sessions->size() >= count) return sessions;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          sessions.ok() ? absl::StrCat(sessions->size(), " of ", count, " session rows")
                        : sessions.status().ToString());
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace mailroom::testing
