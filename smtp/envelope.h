// What the SMTP engine knows about a session and a message, handed across the engine's
// boundary (smtp/message_sink.h, smtp/session_recorder.h, smtp/authenticator.h).
//
// Plain data; safe to share read-only between threads.
#ifndef MAILROOM_SMTP_ENVELOPE_H_
#define MAILROOM_SMTP_ENVELOPE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace mailroom::smtp {

// Facts about one SMTP session (one client connection), growing as the session goes on.
struct SessionInfo {
  std::string id;              // UUIDv7, named by the engine before any storage round trip
  std::string listener;        // the listener's configured name
  std::string client_address;  // "192.0.2.10", "2001:db8::1"
  int client_port = 0;
  std::string server_address;  // "127.0.0.1:2525"
  std::string ehlo_name;       // from the last EHLO/HELO; empty before one
  std::string tls_protocol;    // "TLSv1.3"; empty while plaintext
  std::string tls_cipher;      // "TLS_AES_256_GCM_SHA384"; empty while plaintext
  std::string auth_user;       // the authenticated name as given; empty when none
  std::string auth_mechanism;  // "PLAIN", "LOGIN", "CRAM-MD5"; empty when none
  absl::Time started_at;
};

// One RCPT TO, with its RFC 3461 DSN parameters (empty when not given).
struct Recipient {
  std::string address;  // the path without angle brackets
  std::string dsn_notify;
  std::string dsn_orcpt;
};

// The envelope of one mail transaction (MAIL FROM ... RCPT TO ... DATA/BDAT).
struct Envelope {
  std::string mail_from;  // the reverse-path without angle brackets; empty for <>
  std::vector<Recipient> recipients;
  bool smtputf8 = false;                 // MAIL FROM ... SMTPUTF8 (RFC 6531)
  std::string body;                      // "7BIT", "8BITMIME" or "BINARYMIME"; "" if not given
  std::optional<int64_t> declared_size;  // MAIL FROM ... SIZE=n (RFC 1870)
  std::string dsn_ret;                   // "FULL", "HDRS" or ""
  std::string dsn_envid;
};

// A message the engine received completely and wants stored.
struct ReceivedMessage {
  std::string id;  // UUIDv7, also named in the 250 reply ("queued as <id>")
  SessionInfo session;
  Envelope envelope;
  // The message exactly as the client meant it: dot-stuffing undone (DATA) or the chunks
  // concatenated (BDAT). Never copied after this point.
  std::string raw;
  absl::Time received_at;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_ENVELOPE_H_
