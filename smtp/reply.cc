#include "smtp/reply.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"

namespace mailroom::smtp {
namespace {

struct Entry {
  ReplyId id;
  int code;
  const char* enhanced;
  const char* text;  // "$0" is replaced by MakeReply's argument
  bool counts_as_error;
};

// The table. Keep it sorted like the enum so that a reader finds a code next to its name.
constexpr Entry kReplies[] = {
    {ReplyId::kGreeting, 220, "", "$0 ESMTP Mailroom", false},
    {ReplyId::kHelo, 250, "", "$0", false},
    {ReplyId::kOk, 250, "2.0.0", "Ok", false},
    {ReplyId::kSenderOk, 250, "2.1.0", "Sender ok", false},
    {ReplyId::kRecipientOk, 250, "2.1.5", "Recipient ok", false},
    {ReplyId::kChunkReceived, 250, "2.0.0", "$0 octets received", false},
    {ReplyId::kQueued, 250, "2.0.0", "Ok: queued as $0", false},
    {ReplyId::kResetOk, 250, "2.0.0", "Reset ok", false},
    {ReplyId::kCannotVrfy, 252, "2.5.0",
     "Cannot VRFY user, but will accept message and attempt delivery", false},
    {ReplyId::kHelp, 214, "2.0.0",
     "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH", false},
    {ReplyId::kBye, 221, "2.0.0", "Bye", false},
    {ReplyId::kAuthSucceeded, 235, "2.7.0", "Authentication successful", false},
    {ReplyId::kReadyForTls, 220, "2.0.0", "Ready to start TLS", false},
    {ReplyId::kAuthChallenge, 334, "", "$0", false},
    {ReplyId::kStartMailInput, 354, "", "End data with <CR><LF>.<CR><LF>", false},

    {ReplyId::kShuttingDown, 421, "4.3.2", "Service shutting down, closing connection", false},
    {ReplyId::kTimeout, 421, "4.4.2", "Timeout exceeded, closing connection", false},
    {ReplyId::kTooManyErrors, 421, "4.7.0", "Too many errors, closing connection", false},
    {ReplyId::kNotStored, 451, "4.3.0", "Message not stored, try again later", false},
    {ReplyId::kTooManyRecipients, 452, "4.5.3", "Too many recipients", false},
    {ReplyId::kTlsUnavailable, 454, "4.7.0", "TLS not available", false},
    {ReplyId::kAuthUnavailable, 454, "4.7.0", "Temporary authentication failure", false},

    {ReplyId::kUnknownCommand, 500, "5.5.1", "Command unrecognized", true},
    {ReplyId::kLineTooLong, 500, "5.5.2", "Line too long", true},
    {ReplyId::kBareLineEnding, 500, "5.5.2", "Bare CR or LF received; lines must end with CRLF",
     true},
    {ReplyId::kAuthLineTooLong, 500, "5.5.6", "Authentication Exchange line is too long", true},
    {ReplyId::kSyntax, 501, "5.5.4", "Syntax: $0", true},
    {ReplyId::kBadSenderSyntax, 501, "5.1.7", "Bad sender address syntax", true},
    {ReplyId::kBadRecipientSyntax, 501, "5.1.3", "Bad recipient address syntax", true},
    {ReplyId::kNotImplemented, 502, "5.5.1", "Command not implemented", true},
    {ReplyId::kUnknownParameter, 555, "5.5.4", "Unsupported parameter: $0", true},
    {ReplyId::kParametersNeedEhlo, 555, "5.5.4", "Parameters need EHLO, not HELO", true},
    {ReplyId::kNonAsciiAddress, 553, "5.6.7", "Non-ASCII address requires SMTPUTF8", true},

    {ReplyId::kNeedHelo, 503, "5.5.1", "Send EHLO or HELO first", true},
    {ReplyId::kNeedEhloForAuth, 503, "5.5.1", "Send EHLO first", true},
    {ReplyId::kNeedMail, 503, "5.5.1", "Send MAIL first", true},
    {ReplyId::kNeedRecipient, 503, "5.5.1", "Send RCPT first", true},
    {ReplyId::kNestedMail, 503, "5.5.1", "Nested MAIL command", true},
    {ReplyId::kAlreadyAuthenticated, 503, "5.5.1", "Already authenticated", true},
    {ReplyId::kAuthInTransaction, 503, "5.5.1", "AUTH not allowed during a mail transaction", true},
    {ReplyId::kAlreadyTls, 503, "5.5.1", "TLS already active", true},
    {ReplyId::kTlsInTransaction, 503, "5.5.1", "STARTTLS not allowed during a mail transaction",
     true},
    {ReplyId::kDataAfterBdat, 503, "5.5.1", "DATA not allowed after BDAT", true},
    {ReplyId::kDataWithBinaryMime, 503, "5.5.1", "BODY=BINARYMIME requires BDAT", true},

    {ReplyId::kTlsRequired, 530, "5.7.0", "Must issue a STARTTLS command first", true},
    {ReplyId::kAuthRequired, 530, "5.7.0", "Authentication required", true},
    {ReplyId::kAuthCancelled, 501, "5.7.0", "Authentication cancelled", true},
    {ReplyId::kAuthBadBase64, 501, "5.5.2", "Cannot decode base64 response", true},
    {ReplyId::kAuthMalformed, 501, "5.5.2", "Malformed authentication response", true},
    {ReplyId::kUnknownMechanism, 504, "5.5.4", "Unrecognized authentication type", true},
    {ReplyId::kAuthFailed, 535, "5.7.8", "Authentication credentials invalid", true},
    {ReplyId::kEncryptionRequired, 538, "5.7.11",
     "Encryption required for requested authentication mechanism", true},
    {ReplyId::kTextLineTooLong, 500, "5.5.6", "Message line too long", false},
    {ReplyId::kBareLineEndingInData, 550, "5.6.0",
     "Bare CR or LF in message data; lines must end with CRLF", false},
    {ReplyId::kMessageTooBig, 552, "5.3.4", "Message size exceeds fixed maximum message size",
     false},
};

const Entry& Find(ReplyId id) {
  for (const Entry& entry : kReplies) {
    if (entry.id == id) return entry;
  }
  // Every ReplyId has a row (reply_test checks it); this is unreachable.
  return kReplies[0];
}

}  // namespace

std::string Reply::ToString() const {
  if (enhanced.empty()) return absl::StrCat(code, " ", text, "\r\n");
  return absl::StrCat(code, " ", enhanced, " ", text, "\r\n");
}

Reply MakeReply(ReplyId id, absl::string_view argument) {
  const Entry& entry = Find(id);
  return Reply{id, entry.code, entry.enhanced, absl::Substitute(entry.text, argument)};
}

bool CountsAsError(ReplyId id) { return Find(id).counts_as_error; }

std::string FormatMultiline(int code, absl::Span<const std::string> lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::StrAppend(&out, code, i + 1 < lines.size() ? "-" : " ", lines[i], "\r\n");
  }
  return out;
}

Reply ReplyForDelivery(const absl::Status& status, absl::string_view message_id) {
  if (status.ok()) return MakeReply(ReplyId::kQueued, message_id);
  return MakeReply(ReplyId::kNotStored);
}

Reply ReplyForAuthentication(const absl::Status& status) {
  if (status.ok()) return MakeReply(ReplyId::kAuthSucceeded);
  if (status.code() == absl::StatusCode::kUnauthenticated ||
      status.code() == absl::StatusCode::kPermissionDenied) {
    return MakeReply(ReplyId::kAuthFailed);
  }
  // Unavailable and anything unexpected: the client may try again later (RFC 4954 §6).
  return MakeReply(ReplyId::kAuthUnavailable);
}

}  // namespace mailroom::smtp
