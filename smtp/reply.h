// Reply: every SMTP reply the server session sends, kept in one table and referred to by
// name (ReplyId), so that code and tests say `kNeedMail` rather than repeating "503 5.5.1 ...".
//
// Each reply has a basic code (RFC 5321 §4.2) and, where RFC 2034 §3 asks for one, an
// enhanced status code (RFC 3463, RFC 5248 registry). RFC 2034 exempts the greeting, the
// replies to EHLO/HELO and the intermediate 3xx replies (354, 334), so those have none.
//
// Conventions chosen here (RFC 3463 leaves room; kept consistent everywhere):
//   unknown command                 500 5.5.1  (the brief of issue 3)
//   command out of sequence          503 5.5.1  (X.5.1 "invalid command ... out of sequence")
//   bad arguments to a known verb    501 5.5.4  (X.5.4 "valid command, invalid arguments")
//   bad mailbox syntax               501 5.1.7 / 5.1.3 (X.1.7 bad sender, X.1.3 bad recipient)
//   unknown MAIL/RCPT parameter      555 5.5.4  (RFC 5321 §4.1.1.11)
//   malformed line (length, bare CR/LF) 500 5.5.2 (X.5.2 "could not be interpreted")
//   bare CR/LF inside message data   550 5.6.0  (X.6.0 "other media error"; RFC 5321 does not
//                                    define one, Exchange's 5.6.11 is not in the registry)
//
// Thread-safety: immutable data and pure functions; safe from any thread.
#ifndef MAILROOM_SMTP_REPLY_H_
#define MAILROOM_SMTP_REPLY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mailroom::smtp {

enum class ReplyId {
  // 2xx / 3xx
  kGreeting,        // 220 <hostname> ESMTP Mailroom
  kHelo,            // 250 <hostname>
  kOk,              // 250 2.0.0 Ok
  kSenderOk,        // 250 2.1.0 Sender ok
  kRecipientOk,     // 250 2.1.5 Recipient ok
  kChunkReceived,   // 250 2.0.0 <n> octets received
  kQueued,          // 250 2.0.0 Ok: queued as <id>
  kResetOk,         // 250 2.0.0 Reset ok
  kCannotVrfy,      // 252 2.5.0 (RFC 5321 §3.5.3)
  kHelp,            // 214 2.0.0
  kBye,             // 221 2.0.0
  kAuthSucceeded,   // 235 2.7.0 (RFC 4954 §6)
  kReadyForTls,     // 220 2.0.0 (RFC 3207 §4)
  kAuthChallenge,   // 334 <base64>
  kStartMailInput,  // 354
  // 4xx
  kShuttingDown,       // 421 4.3.2
  kTimeout,            // 421 4.4.2
  kTooManyErrors,      // 421 4.7.0
  kNotStored,          // 451 4.3.0 (smtp/message_sink.h: any failed delivery)
  kTooManyRecipients,  // 452 4.5.3 (RFC 5321 §4.5.3.1.10)
  kTlsUnavailable,     // 454 4.7.0 (RFC 3207 §4)
  kAuthUnavailable,    // 454 4.7.0 (RFC 4954 §6)
  // 5xx: the command line itself
  kUnknownCommand,      // 500 5.5.1
  kLineTooLong,         // 500 5.5.2
  kBareLineEnding,      // 500 5.5.2
  kAuthLineTooLong,     // 500 5.5.6 (RFC 4954 §4)
  kSyntax,              // 501 5.5.4 Syntax: <usage>
  kBadSenderSyntax,     // 501 5.1.7
  kBadRecipientSyntax,  // 501 5.1.3
  kNotImplemented,      // 502 5.5.1
  kUnknownParameter,    // 555 5.5.4 (RFC 5321 §4.1.1.11)
  kParametersNeedEhlo,  // 555 5.5.4 (RFC 5321 §4.1.1.11: extensions only after EHLO)
  kNonAsciiAddress,     // 553 5.6.7 (RFC 6531 §3.5)
  // 5xx: sequence
  kNeedHelo,              // 503 5.5.1
  kNeedEhloForAuth,       // 503 5.5.1 (RFC 4954 §4: AUTH needs EHLO)
  kNeedMail,              // 503 5.5.1
  kNeedRecipient,         // 503 5.5.1
  kNestedMail,            // 503 5.5.1
  kAlreadyAuthenticated,  // 503 5.5.1 (RFC 4954 §4)
  kAuthInTransaction,     // 503 5.5.1 (RFC 4954 §4)
  kAlreadyTls,            // 503 5.5.1
  kTlsInTransaction,      // 503 5.5.1
  kDataAfterBdat,         // 503 5.5.1 (RFC 3030 §2)
  kDataWithBinaryMime,    // 503 5.5.1 (RFC 3030 §3)
  // 5xx: policy and content
  kTlsRequired,           // 530 5.7.0 (RFC 3207 §4)
  kAuthRequired,          // 530 5.7.0 (RFC 4954 §6)
  kAuthCancelled,         // 501 5.7.0 (RFC 4954 §4)
  kAuthBadBase64,         // 501 5.5.2 (RFC 4954 §4)
  kAuthMalformed,         // 501 5.5.2 decodes but is not what the mechanism expects
  kUnknownMechanism,      // 504 5.5.4 (RFC 4954 §4)
  kAuthFailed,            // 535 5.7.8 (RFC 4954 §6)
  kEncryptionRequired,    // 538 5.7.11 (RFC 4954 §6)
  kTextLineTooLong,       // 500 5.5.6 (issue 3; RFC 5321 §4.5.3.1.6 limit)
  kBareLineEndingInData,  // 550 5.6.0
  kMessageTooBig,         // 552 5.3.4 (RFC 1870 §6)
};

struct Reply {
  ReplyId id;
  int code;
  std::string enhanced;  // "5.5.1"; empty where RFC 2034 asks for none
  std::string text;

  // "503 5.5.1 Error: send MAIL first\r\n".
  std::string ToString() const;
};

// Returns the reply named `id`. `argument` fills the variable part of the replies that have
// one (the hostname, a message id, an octet count, the base64 challenge, a syntax hint) and
// is ignored by the others.
Reply MakeReply(ReplyId id, absl::string_view argument = "");

// Whether a reply with this name counts towards SessionLimits::max_errors: replies to
// commands that were malformed, out of sequence or failed authentication; not replies about
// a message's content or temporary conditions.
bool CountsAsError(ReplyId id);

// A multi-line reply (RFC 5321 §4.2.1): "250-first\r\n250-second\r\n250 last\r\n".
// REQUIRES: !lines.empty().
std::string FormatMultiline(int code, absl::Span<const std::string> lines);

// The one mapping from a MessageSink result to the reply after DATA / BDAT LAST: OK is
// "250 2.0.0 Ok: queued as <id>"; anything else is 451 4.3.0, never a 2xx.
Reply ReplyForDelivery(const absl::Status& status, absl::string_view message_id);

// The one mapping from an Authenticator result to the reply ending an AUTH exchange.
Reply ReplyForAuthentication(const absl::Status& status);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_REPLY_H_
