// StoredMail: reads back what the mailroom binary stored (messages with their recipients and
// session facts, SMTP session rows with their transcripts) straight from PostgreSQL, so that
// end-to-end tests can compare it byte for byte with what a client sent.
//
// Each call opens its own connection, so a reader survives the database being stopped and
// started; database errors come back as statuses. Session rows are written after the session
// ends, asynchronously: WaitForSessions polls for them.
//
// Thread-safety: a StoredMail is immutable; calls may run on any thread.
#ifndef MAILROOM_TESTS_INTEGRATION_STORED_MAIL_H_
#define MAILROOM_TESTS_INTEGRATION_STORED_MAIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mailroom::testing {

struct StoredMessage {
  std::string id;
  std::string session_id;
  std::string envelope_from;
  std::vector<std::string> recipients;  // in RCPT order
  std::vector<std::string> mailboxes;   // names
  std::string raw;                      // exactly as stored (bytea)
  int64_t size_bytes = 0;
  bool has_attachments = false;
  std::optional<std::string> subject;
  std::optional<std::string> ehlo_name;
  std::optional<std::string> tls_protocol;
  std::optional<bool> tls_implicit;
  std::optional<std::string> auth_user;
  std::optional<std::string> auth_mechanism;
  std::string mail_parameters;  // jsonb as text, e.g. [["BODY", "8BITMIME"]]
};

struct StoredSession {
  std::string id;
  std::string listener;
  std::string outcome;
  std::optional<std::string> error;
  std::optional<std::string> ehlo_name;
  std::optional<std::string> tls_protocol;
  std::optional<bool> tls_implicit;
  std::optional<std::string> auth_user;
  std::optional<std::string> auth_mechanism;
  int message_count = 0;
  int error_reply_count = 0;
  std::vector<std::string> transcript;  // "C: EHLO x", "S: 250 ok", "I: ..." in order
  std::string transcript_json;          // the jsonb column as text
};

class StoredMail {
 public:
  explicit StoredMail(std::string url) : url_(std::move(url)) {}

  // Every message, oldest first.
  absl::StatusOr<std::vector<StoredMessage>> Messages() const;
  // Every session row, oldest first.
  absl::StatusOr<std::vector<StoredSession>> Sessions() const;
  // Polls Sessions() until at least `count` rows exist. Returns DeadlineExceeded (with the
  // last error or row count) after `timeout`.
  absl::StatusOr<std::vector<StoredSession>> WaitForSessions(
      size_t count, absl::Duration timeout = absl::Seconds(60)) const;

 private:
  std::string url_;
};

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_INTEGRATION_STORED_MAIL_H_
