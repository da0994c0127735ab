// Session: the RFC 5321 server state machine of one SMTP connection, with no I/O.
//
// The connection (smtp/connection.h) owns the socket and the timers; the session owns the
// protocol. The connection hands over every byte it reads (Receive), asks the session to
// work through what it has (Advance), writes the replies it gets back, and carries out the
// one thing the session is waiting for: more input, a delivery through the MessageSink, a
// credential check through the Authenticator, a TLS handshake, or closing. Because the
// session consumes buffered input one command at a time and stops whenever it waits for
// something, pipelined commands (RFC 2920) are answered completely and in order, and
// replies are batched until the session runs out of input.
//
// The session also keeps the transcript (smtp/session_recorder.h): every client and server
// line with its time, AUTH payloads redacted, DATA content summarised.
//
// Typical loop (see smtp/connection.cc):
//
//   write(session.Greeting());
//   for (;;) {
//     Session::Output out = session.Advance();
//     write(out.replies);
//     switch (out.next) {
//       case Next::kRead:         session.Receive(read_some(session.read_timeout())); break;
//       case Next::kDeliver:      session.Delivered(co_await sink.Deliver(out.message)); break;
//       case Next::kAuthenticate: session.Authenticated(co_await auth(out.credentials)); break;
//       case Next::kStartTls:     handshake; session.TlsStarted(protocol, cipher); break;
//       case Next::kClose:        close; recorder.Record(session.Finish()); return;
//     }
//   }
//
// Not thread-safe: one connection drives it from one strand.
#ifndef MAILROOM_SMTP_SESSION_H_
#define MAILROOM_SMTP_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "smtp/authenticator.h"
#include "smtp/envelope.h"
#include "smtp/session_recorder.h"

namespace mailroom::smtp {

enum class AuthPolicy {
  kNone,      // AUTH is not offered
  kOptional,  // offered; mail without AUTH is accepted
  kRequired,  // MAIL before AUTH is refused with 530 5.7.0
};

struct SessionLimits {
  size_t max_command_line = 512;  // octets including CRLF (RFC 5321 §4.5.3.1.4) → 500 5.5.2
  size_t max_text_line = 1000;    // octets including CRLF (§4.5.3.1.6) → 500 5.5.6
  int64_t max_message_size = 32 << 20;  // advertised as SIZE (RFC 1870) → 552 5.3.4
  int max_recipients = 100;             // §4.5.3.1.8 → 452 4.5.3
  int max_errors = 10;                  // bad commands before 421 4.7.0 and disconnect
  // Bare LF or bare CR in commands or data → 5xx (SMTP smuggling defence); when false they
  // are accepted as they come (a bare LF ends a command line).
  bool reject_bare_line_endings = true;
  absl::Duration command_timeout = absl::Minutes(5);     // RFC 5321 §4.5.3.2.7
  absl::Duration data_block_timeout = absl::Minutes(3);  // §4.5.3.2.5
};

struct SessionOptions {
  std::string hostname;  // in the greeting, EHLO reply and Received-style texts
  SessionLimits limits;
  AuthPolicy auth = AuthPolicy::kOptional;
  // The listener offers STARTTLS (plaintext listeners with a certificate).
  bool starttls_available = true;
  // MAIL and AUTH before TLS are refused with 530 5.7.0 (`tls.required`).
  bool tls_required = false;
  // AUTH over plaintext is allowed; otherwise it is refused with 538 5.7.11.
  bool allow_plaintext_auth = false;
  // Names sessions' messages: storage's UUIDv7 generator, injected because smtp/ does not
  // include storage/.
  std::function<std::string()> new_id;
  // The clock for transcript times and received_at; absl::Now when empty (tests fix it).
  std::function<absl::Time()> now;
};

class Session {
 public:
  enum class Next {
    kRead,          // wait for more input (at most read_timeout()), then Receive() it
    kDeliver,       // give Output::message to the MessageSink, then call Delivered()
    kAuthenticate,  // give Output::credentials to the Authenticator, then Authenticated()
    kStartTls,      // the 220 is in Output::replies: write it, handshake, then TlsStarted()
    kClose,         // write Output::replies, close the connection, then Finish()
  };

  struct Output {
    std::string replies;  // bytes to write before doing `next` (may be empty)
    Next next = Next::kRead;
    std::shared_ptr<ReceivedMessage> message;  // for kDeliver
    Credentials credentials;                   // for kAuthenticate
  };

  // `info` holds what the connection knows: id, listener, addresses, started_at, and the TLS
  // facts when the listener is implicit TLS (then STARTTLS is not offered).
  Session(SessionOptions options, SessionInfo info);
  ~Session();

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The 220 greeting. Call once, first.
  std::string Greeting();

  // Appends bytes read from the client.
  void Receive(absl::string_view bytes);

  // Works through buffered input until the session must wait; see Next.
  // REQUIRES: the previous Output's `next` has been carried out.
  Output Advance();

  // How long the connection may wait for input now (command or data block timeout).
  absl::Duration read_timeout() const;

  // Completions of kDeliver, kAuthenticate and kStartTls. A failed handshake is reported
  // with TlsFailed(); the session then wants kClose.
  void Delivered(const absl::Status& status);
  // As Delivered(status), first adding the sink's `transcript_lines` (MessageSink's
  // DeliveryResult) to the transcript as information lines.
  void Delivered(const absl::Status& status, const std::vector<std::string>& transcript_lines);
  void Authenticated(const absl::Status& status);
  void TlsStarted(absl::string_view protocol, absl::string_view cipher);
  void TlsFailed(absl::string_view error);

  // Events from outside the protocol. Each makes the next Advance() reply as required
  // (421 4.4.2 on timeout, 421 4.3.2 on shutdown; nothing for a dropped client) and want
  // kClose. Shutdown is honoured between commands, never in the middle of a delivery.
  void TimedOut();
  void ClientDropped(absl::string_view error = "");
  void ShuttingDown();

  // The record of the whole session, for the SessionRecorder. Call once, at the end.
  SessionRecord Finish();

  const SessionInfo& info() const;

 private:
  class State;
  std::unique_ptr<State> state_;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_SESSION_H_
