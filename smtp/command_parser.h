// Command parser: turns one SMTP command line (without its CRLF) into a verb and typed
// arguments, or into the reply that rejects it. Pure functions, no state and no I/O: the
// server session (smtp/session.cc) decides what a command means in its state; this file
// only decides whether it is well-formed (RFC 5321 §4.1, RFC 1870, RFC 6152, RFC 3030,
// RFC 3461, RFC 4954, RFC 6531).
//
// Deliberate leniency, as most servers do: a space after "FROM:"/"TO:" and trailing spaces
// are accepted; verbs and keywords are case-insensitive (RFC 5321 §2.4). Everything else is
// strict: paths need angle brackets, mailboxes follow §4.1.2, lengths follow §4.5.3.1.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef MAILROOM_SMTP_COMMAND_PARSER_H_
#define MAILROOM_SMTP_COMMAND_PARSER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "smtp/reply.h"

namespace mailroom::smtp {

enum class Verb {
  kEhlo,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kHelp,
  kStartTls,
  kAuth,
  kExpn,  // recognised but not implemented (502)
  kUnknown,
};

struct CommandLine {
  Verb verb = Verb::kUnknown;
  std::string arguments;  // after the verb and one space, trailing spaces removed
};

// Why a command was refused: the reply to send, and its argument (see MakeReply).
struct Rejection {
  ReplyId reply;
  std::string argument;
};

template <typename T>
using ParseResult = std::variant<T, Rejection>;

struct MailCommand {
  std::string reverse_path;     // without angle brackets or source route; empty for <>
  std::optional<int64_t> size;  // SIZE=, clamped to INT64_MAX
  std::string body;             // "7BIT", "8BITMIME", "BINARYMIME" or ""
  bool smtputf8 = false;
  std::string ret;    // "FULL", "HDRS" or ""
  std::string envid;  // xtext as given
  std::string auth;   // RFC 4954 §5 AUTH= as given (xtext or "<>")
};

struct RcptCommand {
  std::string forward_path;  // without angle brackets or source route
  std::string notify;        // as given, upper-cased ("SUCCESS,FAILURE")
  std::string orcpt;         // as given ("rfc822;user@example.com")
};

struct BdatCommand {
  int64_t size = 0;
  bool last = false;
};

struct AuthCommand {
  std::string mechanism;  // upper-cased
  // Base64 text as given; "=" stands for an empty response (RFC 4954 §4).
  std::optional<std::string> initial_response;
};

// RFC 5321 §4.5.3.1: path and part lengths in octets.
inline constexpr size_t kMaxLocalPart = 64;
inline constexpr size_t kMaxDomain = 255;
inline constexpr size_t kMaxPath = 256;

// Splits "MAIL FROM:<a@b> SIZE=10" into kMail and "FROM:<a@b> SIZE=10".
CommandLine SplitCommand(absl::string_view line);

// EHLO/HELO argument: one printable token (a domain or address literal; the server does not
// second-guess it, RFC 5321 §4.1.4). Returns it, or kSyntax.
ParseResult<std::string> ParseHelo(absl::string_view arguments);

// "FROM:<path> [params]". Rejections: kSyntax, kBadSenderSyntax, kNonAsciiAddress (non-ASCII
// path without SMTPUTF8), kUnknownParameter. SIZE over the limit is the session's business.
ParseResult<MailCommand> ParseMail(absl::string_view arguments);

// "TO:<path> [params]"; non-ASCII paths only when the transaction declared SMTPUTF8.
ParseResult<RcptCommand> ParseRcpt(absl::string_view arguments, bool smtputf8);

// "<size> [LAST]" (RFC 3030 §2).
ParseResult<BdatCommand> ParseBdat(absl::string_view arguments);

// "<mechanism> [initial-response]" (RFC 4954 §4).
ParseResult<AuthCommand> ParseAuth(absl::string_view arguments);

enum class MailboxStatus { kOk, kBadSyntax, kNeedsSmtpUtf8 };

// Checks a Mailbox (RFC 5321 §4.1.2: Local-part "@" (Domain / address-literal)), with RFC
// 6531 UTF-8 local parts and domains when `allow_utf8`.
MailboxStatus CheckMailbox(absl::string_view mailbox, bool allow_utf8);

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool IsValidUtf8(absl::string_view text);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_COMMAND_PARSER_H_
