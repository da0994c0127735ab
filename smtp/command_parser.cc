#include "smtp/command_parser.h"

#include <arpa/inet.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace mailroom::smtp {
namespace {

constexpr struct {
  absl::string_view name;
  Verb verb;
} kVerbs[] = {
    {"EHLO", Verb::kEhlo}, {"HELO", Verb::kHelo}, {"MAIL", Verb::kMail},
    {"RCPT", Verb::kRcpt}, {"DATA", Verb::kData}, {"BDAT", Verb::kBdat},
    {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop}, {"QUIT", Verb::kQuit},
    {"VRFY", Verb::kVrfy}, {"HELP", Verb::kHelp}, {"STARTTLS", Verb::kStartTls},
    {"AUTH", Verb::kAuth}, {"EXPN", Verb::kExpn},
};

Rejection Reject(ReplyId id, absl::string_view argument = "") {
  return Rejection{id, std::string(argument)};
}

bool IsAtext(unsigned char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != absl::string_view::npos;
}

bool IsLetDig(unsigned char c, bool allow_utf8) {
  return absl::ascii_isalnum(c) || (allow_utf8 && c >= 0x80);
}

// Dot-string = Atom *("." Atom) (RFC 5321 §4.1.2; RFC 6531 §3.3 adds UTF8-non-ascii).
bool IsDotString(absl::string_view s, bool allow_utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char previous = 0;
  for (unsigned char c : s) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!IsAtext(c) && !(allow_utf8 && c >= 0x80)) {
      return false;
    }
    previous = static_cast<char>(c);
  }
  return true;
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE. REQUIRES: s starts with '"'. Returns the
// length of the quoted string including both quotes, or 0 when it is malformed.
size_t QuotedStringLength(absl::string_view s, bool allow_utf8) {
  for (size_t i = 1; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      // quoted-pairSMTP = %d92 %d32-126
      if (i + 1 >= s.size()) return 0;
      unsigned char next = s[++i];
      if (next < 32 || next > 126) return 0;
      continue;
    }
    // qtextSMTP = %d32-33 / %d35-91 / %d93-126
    bool qtext = (c >= 32 && c <= 126 && c != '"' && c != '\\') || (allow_utf8 && c >= 0x80);
    if (!qtext) return 0;
  }
  return 0;
}

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str].
bool IsDomain(absl::string_view s, bool allow_utf8) {
  if (s.empty() || s.size() > kMaxDomain) return false;
  for (absl::string_view label : absl::StrSplit(s, '.')) {
    if (label.empty() || label.size() > 63) return false;
    if (!IsLetDig(label.front(), allow_utf8) || !IsLetDig(label.back(), allow_utf8)) {
      return false;
    }
    for (unsigned char c : label) {
      if (!IsLetDig(c, allow_utf8) && c != '-') return false;
    }
  }
  return true;
}

// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
// General-address-literal ) "]" (RFC 5321 §4.1.3).
bool IsAddressLiteral(absl::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  std::string inner(s.substr(1, s.size() - 2));
  unsigned char buffer[16];
  if (absl::StartsWithIgnoreCase(inner, "IPv6:")) {
    return inet_pton(AF_INET6, inner.c_str() + 5, buffer) == 1;
  }
  size_t colon = inner.find(':');
  if (colon == std::string::npos) {
    // inet_pton accepts exactly dotted-quad decimal, as Snum "." Snum "." Snum "." Snum.
    return inet_pton(AF_INET, inner.c_str(), buffer) == 1;
  }
  // General-address-literal = Standardized-tag ":" 1*dcontent
  absl::string_view tag = absl::string_view(inner).substr(0, colon);
  absl::string_view content = absl::string_view(inner).substr(colon + 1);
  if (tag.empty() || content.empty() || tag.back() == '-') return false;
  for (unsigned char c : tag) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  for (unsigned char c : content) {
    if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return false;
  }
  return true;
}

bool HasNonAscii(absl::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Reads "<...>" at the start of `s`, honouring quoted local parts (which may contain '>').
// Returns the length including the brackets, or 0.
size_t AngleBracketLength(absl::string_view s) {
  if (s.empty() || s.front() != '<') return 0;
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return 0;
}

enum class PathKind { kReverse, kForward };

struct PathParse {
  MailboxStatus status = MailboxStatus::kBadSyntax;
  std::string mailbox;  // without brackets and source route
  absl::string_view rest;
};

// Path = "<" [ A-d-l ":" ] Mailbox ">" (RFC 5321 §4.1.2); "<>" for a reverse path and
// "<Postmaster>" for a forward path (§4.1.1.3) are allowed too.
PathParse ParsePath(absl::string_view s, PathKind kind, bool allow_utf8) {
  PathParse result;
  size_t length = AngleBracketLength(s);
  if (length == 0 || length > kMaxPath) return result;
  result.rest = s.substr(length);
  absl::string_view inner = s.substr(1, length - 2);
  if (inner.empty()) {
    if (kind == PathKind::kReverse) result.status = MailboxStatus::kOk;
    return result;
  }
  if (kind == PathKind::kForward && absl::EqualsIgnoreCase(inner, "postmaster")) {
    result.status = MailboxStatus::kOk;
    result.mailbox = std::string(inner);
    return result;
  }
  // A source route is accepted and ignored (RFC 5321 §4.1.1.3, appendix C).
  if (inner.front() == '@') {
    size_t colon = inner.find(':');
    if (colon == absl::string_view::npos) return result;
    for (absl::string_view hop : absl::StrSplit(inner.substr(0, colon), ',')) {
      if (hop.size() < 2 || hop.front() != '@' || !IsDomain(hop.substr(1), allow_utf8)) {
        return result;
      }
    }
    inner = inner.substr(colon + 1);
  }
  result.status = CheckMailbox(inner, allow_utf8);
  if (result.status == MailboxStatus::kOk) result.mailbox = std::string(inner);
  return result;
}

bool IsXtext(absl::string_view s) {
  // xtext = *( xchar / hexchar ), xchar = %d33-42 / %d44-60 / %d62-126 (RFC 3461 §4).
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '+') {
      if (i + 2 >= s.size()) return false;
      if (!absl::ascii_isxdigit(s[i + 1]) || !absl::ascii_isxdigit(s[i + 2])) return false;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return false;
    }
  }
  return true;
}

struct Parameter {
  std::string keyword;  // upper-cased
  std::string value;    // as given; empty when there is no "="
  bool has_value = false;
};

// esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 §4.1.2). Returns false on bad
// syntax.
bool ParseParameter(absl::string_view text, Parameter* out) {
  size_t equals = text.find('=');
  absl::string_view keyword = text.substr(0, equals);
  if (keyword.empty() || !absl::ascii_isalnum(keyword.front())) return false;
  for (unsigned char c : keyword) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  out->keyword = absl::AsciiStrToUpper(keyword);
  out->has_value = equals != absl::string_view::npos;
  if (out->has_value) {
    absl::string_view value = text.substr(equals + 1);
    // esmtp-value = 1*(%d33-60 / %d62-126)
    if (value.empty()) return false;
    for (unsigned char c : value) {
      if (c < 33 || c > 126 || c == '=') return false;
    }
    out->value = std::string(value);
  }
  return true;
}

// Splits the text after a path into parameters: it must be empty or start with a space.
bool SplitParameters(absl::string_view rest, std::vector<absl::string_view>* out) {
  if (rest.empty()) return true;
  if (rest.front() != ' ') return false;
  for (absl::string_view piece : absl::StrSplit(rest, ' ', absl::SkipEmpty())) {
    out->push_back(piece);
  }
  return true;
}

// Skips "FROM:" / "TO:" and the one space some clients put after it.
bool ConsumeKeyword(absl::string_view* s, absl::string_view keyword) {
  if (!absl::StartsWithIgnoreCase(*s, keyword)) return false;
  s->remove_prefix(keyword.size());
  if (!s->empty() && s->front() == ' ') s->remove_prefix(1);
  return true;
}

bool IsNotify(absl::string_view value) {
  // "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) (RFC 3461 §4.1)
  if (absl::EqualsIgnoreCase(value, "NEVER")) return true;
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    if (!absl::EqualsIgnoreCase(item, "SUCCESS") && !absl::EqualsIgnoreCase(item, "FAILURE") &&
        !absl::EqualsIgnoreCase(item, "DELAY")) {
      return false;
    }
  }
  return true;
}

bool IsOrcpt(absl::string_view value) {
  // addr-type ";" xtext (RFC 3461 §4.2)
  size_t semicolon = value.find(';');
  if (semicolon == 0 || semicolon == absl::string_view::npos) return false;
  for (unsigned char c : value.substr(0, semicolon)) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return IsXtext(value.substr(semicolon + 1));
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = text[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      code_point = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      code_point = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      code_point = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      unsigned char next = text[i + k];
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
        code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

MailboxStatus CheckMailbox(absl::string_view mailbox, bool allow_utf8) {
  if (HasNonAscii(mailbox)) {
    if (!allow_utf8) return MailboxStatus::kNeedsSmtpUtf8;
    if (!IsValidUtf8(mailbox)) return MailboxStatus::kBadSyntax;
  }
  size_t local_length;
  if (!mailbox.empty() && mailbox.front() == '"') {
    local_length = QuotedStringLength(mailbox, allow_utf8);
    if (local_length == 0) return MailboxStatus::kBadSyntax;
  } else {
    local_length = mailbox.find('@');
    if (local_length == absl::string_view::npos ||
        !IsDotString(mailbox.substr(0, local_length), allow_utf8)) {
      return MailboxStatus::kBadSyntax;
    }
  }
  if (local_length > kMaxLocalPart || local_length >= mailbox.size() ||
      mailbox[local_length] != '@') {
    return MailboxStatus::kBadSyntax;
  }
  absl::string_view domain = mailbox.substr(local_length + 1);
  if (IsDomain(domain, allow_utf8) || IsAddressLiteral(domain)) return MailboxStatus::kOk;
  return MailboxStatus::kBadSyntax;
}

CommandLine SplitCommand(absl::string_view line) {
  CommandLine result;
  size_t space = line.find(' ');
  absl::string_view verb = line.substr(0, space);
  if (space != absl::string_view::npos) {
    absl::string_view arguments = line.substr(space + 1);
    while (!arguments.empty() && (arguments.back() == ' ' || arguments.back() == '\t')) {
      arguments.remove_suffix(1);
    }
    result.arguments = std::string(arguments);
  }
  for (const auto& entry : kVerbs) {
    if (absl::EqualsIgnoreCase(verb, entry.name)) {
      result.verb = entry.verb;
      break;
    }
  }
  return result;
}

ParseResult<std::string> ParseHelo(absl::string_view arguments) {
  constexpr absl::string_view kUsage = "EHLO <domain>";
  if (arguments.empty() || arguments.size() > kMaxDomain + 2) {
    return Reject(ReplyId::kSyntax, kUsage);
  }
  for (unsigned char c : arguments) {
    if (c <= ' ' || c == 0x7F) return Reject(ReplyId::kSyntax, kUsage);
  }
  if (HasNonAscii(arguments) && !IsValidUtf8(arguments)) {
    return Reject(ReplyId::kSyntax, kUsage);
  }
  return std::string(arguments);
}

ParseResult<MailCommand> ParseMail(absl::string_view arguments) {
  constexpr absl::string_view kUsage = "MAIL FROM:<address>";
  absl::string_view rest = arguments;
  if (!ConsumeKeyword(&rest, "FROM:")) return Reject(ReplyId::kSyntax, kUsage);
  size_t path_length = AngleBracketLength(rest);
  if (path_length == 0) return Reject(ReplyId::kBadSenderSyntax);

  std::vector<absl::string_view> pieces;
  if (!SplitParameters(rest.substr(path_length), &pieces)) {
    return Reject(ReplyId::kBadSenderSyntax);
  }
  MailCommand mail;
  bool seen_size = false, seen_body = false, seen_ret = false, seen_envid = false,
       seen_auth = false;
  for (absl::string_view piece : pieces) {
    Parameter p;
    if (!ParseParameter(piece, &p)) return Reject(ReplyId::kSyntax, kUsage);
    auto once = [&](bool* seen) {
      bool first = !*seen;
      *seen = true;
      return first;
    };
    if (p.keyword == "SIZE") {
      // size-value = 1*20DIGIT (RFC 1870 §3)
      if (!once(&seen_size) || !p.has_value || p.value.size() > 20) {
        return Reject(ReplyId::kSyntax, "SIZE=<octets>");
      }
      uint64_t size = 0;
      for (char c : p.value) {
        if (!absl::ascii_isdigit(c)) return Reject(ReplyId::kSyntax, "SIZE=<octets>");
      }
      if (!absl::SimpleAtoi(p.value, &size) ||
          size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        size = std::numeric_limits<int64_t>::max();
      }
      mail.size = static_cast<int64_t>(size);
    } else if (p.keyword == "BODY") {
      std::string body = absl::AsciiStrToUpper(p.value);
      if (!once(&seen_body) || (body != "7BIT" && body != "8BITMIME" && body != "BINARYMIME")) {
        return Reject(ReplyId::kSyntax, "BODY=7BIT|8BITMIME|BINARYMIME");
      }
      mail.body = body;
    } else if (p.keyword == "SMTPUTF8") {
      // RFC 6531 §3.4: no value.
      if (mail.smtputf8 || p.has_value) return Reject(ReplyId::kSyntax, "SMTPUTF8");
      mail.smtputf8 = true;
    } else if (p.keyword == "RET") {
      std::string ret = absl::AsciiStrToUpper(p.value);
      if (!once(&seen_ret) || (ret != "FULL" && ret != "HDRS")) {
        return Reject(ReplyId::kSyntax, "RET=FULL|HDRS");
      }
      mail.ret = ret;
    } else if (p.keyword == "ENVID") {
      // RFC 3461 §4.4: xtext, at most 100 characters.
      if (!once(&seen_envid) || !p.has_value || p.value.size() > 100 || !IsXtext(p.value)) {
        return Reject(ReplyId::kSyntax, "ENVID=<xtext>");
      }
      mail.envid = p.value;
    } else if (p.keyword == "AUTH") {
      // RFC 4954 §5: AUTH=<> or AUTH=xtext. Accepted and not trusted.
      if (!once(&seen_auth) || !p.has_value || (p.value != "<>" && !IsXtext(p.value))) {
        return Reject(ReplyId::kSyntax, "AUTH=<mailbox>");
      }
      mail.auth = p.value;
    } else {
      return Reject(ReplyId::kUnknownParameter, p.keyword);
    }
  }

  PathParse path = ParsePath(rest, PathKind::kReverse, mail.smtputf8);
  switch (path.status) {
    case MailboxStatus::kOk:
      break;
    case MailboxStatus::kNeedsSmtpUtf8:
      return Reject(ReplyId::kNonAsciiAddress);
    case MailboxStatus::kBadSyntax:
      return Reject(ReplyId::kBadSenderSyntax);
  }
  mail.reverse_path = std::move(path.mailbox);
  return mail;
}

ParseResult<RcptCommand> ParseRcpt(absl::string_view arguments, bool smtputf8) {
  constexpr absl::string_view kUsage = "RCPT TO:<address>";
  absl::string_view rest = arguments;
  if (!ConsumeKeyword(&rest, "TO:")) return Reject(ReplyId::kSyntax, kUsage);
  PathParse path = ParsePath(rest, PathKind::kForward, smtputf8);
  switch (path.status) {
    case MailboxStatus::kOk:
      break;
    case MailboxStatus::kNeedsSmtpUtf8:
      return Reject(ReplyId::kNonAsciiAddress);
    case MailboxStatus::kBadSyntax:
      return Reject(ReplyId::kBadRecipientSyntax);
  }
  std::vector<absl::string_view> pieces;
  if (!SplitParameters(path.rest, &pieces)) return Reject(ReplyId::kBadRecipientSyntax);

  RcptCommand rcpt;
  rcpt.forward_path = std::move(path.mailbox);
  bool seen_notify = false, seen_orcpt = false;
  for (absl::string_view piece : pieces) {
    Parameter p;
    if (!ParseParameter(piece, &p)) return Reject(ReplyId::kSyntax, kUsage);
    if (p.keyword == "NOTIFY") {
      if (seen_notify || !p.has_value || !IsNotify(p.value)) {
        return Reject(ReplyId::kSyntax, "NOTIFY=NEVER|SUCCESS,FAILURE,DELAY");
      }
      seen_notify = true;
      rcpt.notify = absl::AsciiStrToUpper(p.value);
    } else if (p.keyword == "ORCPT") {
      if (seen_orcpt || !p.has_value || p.value.size() > 500 || !IsOrcpt(p.value)) {
        return Reject(ReplyId::kSyntax, "ORCPT=<addr-type>;<xtext>");
      }
      seen_orcpt = true;
      rcpt.orcpt = p.value;
    } else {
      return Reject(ReplyId::kUnknownParameter, p.keyword);
    }
  }
  return rcpt;
}

ParseResult<BdatCommand> ParseBdat(absl::string_view arguments) {
  constexpr absl::string_view kUsage = "BDAT <octets> [LAST]";
  std::vector<absl::string_view> parts = absl::StrSplit(arguments, ' ');
  if (parts.empty() || parts.size() > 2) return Reject(ReplyId::kSyntax, kUsage);
  // chunk-size = 1*DIGIT; 18 digits always fit in int64_t.
  if (parts[0].empty() || parts[0].size() > 18) return Reject(ReplyId::kSyntax, kUsage);
  for (char c : parts[0]) {
    if (!absl::ascii_isdigit(c)) return Reject(ReplyId::kSyntax, kUsage);
  }
  BdatCommand bdat;
  if (!absl::SimpleAtoi(parts[0], &bdat.size)) return Reject(ReplyId::kSyntax, kUsage);
  if (parts.size() == 2) {
    if (!absl::EqualsIgnoreCase(parts[1], "LAST")) return Reject(ReplyId::kSyntax, kUsage);
    bdat.last = true;
  }
  return bdat;
}

ParseResult<AuthCommand> ParseAuth(absl::string_view arguments) {
  constexpr absl::string_view kUsage = "AUTH <mechanism> [initial-response]";
  std::vector<absl::string_view> parts = absl::StrSplit(arguments, ' ');
  if (parts.empty() || parts.size() > 2) return Reject(ReplyId::kSyntax, kUsage);
  // sasl-mech = 1*20mech-char, mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
  // (RFC 4422 §3.1; matched case-insensitively).
  if (parts[0].empty() || parts[0].size() > 20) return Reject(ReplyId::kSyntax, kUsage);
  for (unsigned char c : parts[0]) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_') {
      return Reject(ReplyId::kSyntax, kUsage);
    }
  }
  AuthCommand auth;
  auth.mechanism = absl::AsciiStrToUpper(parts[0]);
  if (parts.size() == 2) {
    if (parts[1].empty()) return Reject(ReplyId::kSyntax, kUsage);
    auth.initial_response = std::string(parts[1]);
  }
  return auth;
}

}  // namespace mailroom::smtp
