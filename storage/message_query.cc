#include "storage/message_query.h"

#include <cctype>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mailroom::storage {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Returns true if `text` is well-formed UTF-8 (RFC 3629): positions are counted in
// characters, which needs it, and gRPC strings are UTF-8 anyway.
bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    uint32_t code = c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// The parser: a cursor over the query with positioned errors.
class Parser {
 public:
  explicit Parser(absl::string_view query) : query_(query) {}

  absl::StatusOr<MessageFilter> Parse() {
    MessageFilter filter;
    filter.source = std::string(query_);
    while (true) {
      SkipSpace();
      if (AtEnd()) break;
      if (filter.terms.size() == kMaxQueryTerms) {
        return Error(pos_, absl::StrCat("more than ", kMaxQueryTerms, " terms"));
      }
      absl::StatusOr<Term> term = ParseTerm();
      if (!term.ok()) return term.status();
      filter.terms.push_back(*std::move(term));
    }
    return filter;
  }

 private:
  bool AtEnd() const { return pos_ >= query_.size(); }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(query_[pos_])) ++pos_;
  }

  // 1-based character position of byte offset `offset`.
  int CharPosition(size_t offset) const {
    int chars = 0;
    for (size_t i = 0; i < offset && i < query_.size(); ++i) {
      if ((static_cast<unsigned char>(query_[i]) & 0xC0) != 0x80) ++chars;
    }
    return chars + 1;
  }

  absl::Status Error(size_t offset, absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("query: position ", CharPosition(offset), ": ", problem));
  }

  // Reads a quoted string starting at the opening quote; `\"` and `\\` are the only escapes.
  absl::StatusOr<std::string> ReadQuoted() {
    const size_t open = pos_;
    ++pos_;
    std::string text;
    while (true) {
      if (AtEnd()) return Error(open, "unterminated quoted string");
      const char c = query_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c == '\\') {
        if (pos_ + 1 < query_.size() && (query_[pos_ + 1] == '"' || query_[pos_ + 1] == '\\')) {
          text.push_back(query_[pos_ + 1]);
          pos_ += 2;
          continue;
        }
        return Error(pos_, "invalid escape in quoted string (only \\\" and \\\\ are allowed)");
      }
      text.push_back(c);
      ++pos_;
    }
    if (!AtEnd() && !IsSpace(query_[pos_])) {
      return Error(pos_, "expected white space after the closing quote");
    }
    return text;
  }

  // Reads an unquoted run up to white space.
  absl::string_view ReadBare() {
    const size_t start = pos_;
    while (!AtEnd() && !IsSpace(query_[pos_])) ++pos_;
    return query_.substr(start, pos_ - start);
  }

  absl::StatusOr<Term> ParseTerm() {
    Term term;
    const size_t start = pos_;
    term.position = CharPosition(start);
    if (query_[pos_] == '-') {
      term.negated = true;
      ++pos_;
      if (AtEnd() || IsSpace(query_[pos_])) return Error(start, "`-` without a term after it");
      if (query_[pos_] == '-') return Error(pos_, "`-` may appear only once before a term");
    }
    if (query_[pos_] == '"') {
      absl::StatusOr<std::string> phrase = ReadQuoted();
      if (!phrase.ok()) return phrase.status();
      if (absl::StripAsciiWhitespace(*phrase).empty()) return Error(start, "empty phrase");
      term.kind = TermKind::kPhrase;
      term.text = *std::move(phrase);
      return term;
    }
    const size_t word_start = pos_;
    // An operator is the run of letters before a colon.
    size_t colon = word_start;
    while (colon < query_.size() && absl::ascii_isalpha(query_[colon])) ++colon;
    const bool has_colon = [&] {
      for (size_t i = word_start; i < query_.size() && !IsSpace(query_[i]); ++i) {
        if (query_[i] == '"') return false;
        if (query_[i] == ':') return true;
      }
      return false;
    }();
    if (!has_colon) {
      absl::string_view word = ReadBare();
      if (word.find('"') != absl::string_view::npos) {
        return Error(word_start + word.find('"'),
                     "a quote may only start a term or an operator's value");
      }
      term.kind = TermKind::kWord;
      term.text = std::string(word);
      return term;
    }
    if (colon >= query_.size() || query_[colon] != ':' || colon == word_start) {
      absl::string_view word = ReadBare();
      return Error(word_start,
                   absl::StrCat("unknown operator `", word.substr(0, word.find(':') + 1),
                                "` (quote the word to search for it literally)"));
    }
    const std::string op = absl::AsciiStrToLower(query_.substr(word_start, colon - word_start));
    pos_ = colon + 1;
    const size_t value_start = pos_;
    std::string value;
    if (!AtEnd() && query_[pos_] == '"') {
      absl::StatusOr<std::string> quoted = ReadQuoted();
      if (!quoted.ok()) return quoted.status();
      value = *std::move(quoted);
    } else {
      value = std::string(ReadBare());
      if (size_t quote = value.find('"'); quote != std::string::npos) {
        return Error(value_start + quote, "a quote may only start an operator's value");
      }
    }
    return FinishOperator(std::move(term), op, word_start, value_start, std::move(value));
  }

  absl::StatusOr<Term> FinishOperator(Term term, const std::string& op, size_t op_start,
                                      size_t value_start, std::string value) {
    const auto missing = [&] {
      return Error(value_start, absl::StrCat("missing value after `", op, ":`"));
    };
    if (op == "from" || op == "to" || op == "cc" || op == "subject") {
      if (value.empty()) return missing();
      term.kind = op == "from" ? TermKind::kFrom
                  : op == "to" ? TermKind::kTo
                  : op == "cc" ? TermKind::kCc
                               : TermKind::kSubject;
      term.text = std::move(value);
      return term;
    }
    if (op == "is") {
      const std::string v = absl::AsciiStrToLower(value);
      if (v == "read" || v == "unread") {
        term.kind = TermKind::kRead;
        if (v == "unread") term.negated = !term.negated;
        return term;
      }
      if (value.empty()) return missing();
      return Error(value_start,
                   absl::StrCat("unknown value `", value, "` for `is:` (expected read or unread)"));
    }
    if (op == "has") {
      if (absl::AsciiStrToLower(value) == "attachment") {
        term.kind = TermKind::kHasAttachment;
        return term;
      }
      if (value.empty()) return missing();
      return Error(value_start,
                   absl::StrCat("unknown value `", value, "` for `has:` (expected attachment)"));
    }
    if (op == "after" || op == "before") {
      if (value.empty()) return missing();
      absl::StatusOr<absl::Time> time = ParseQueryTime(value);
      if (!time.ok()) {
        return Error(value_start, absl::StrCat("invalid time `", value, "` for `", op,
                                               ":` (expected YYYY-MM-DD or an RFC 3339 time)"));
      }
      term.kind = op == "after" ? TermKind::kAfter : TermKind::kBefore;
      term.time = *time;
      return term;
    }
    if (op == "larger" || op == "smaller") {
      if (value.empty()) return missing();
      absl::StatusOr<int64_t> size = ParseSize(value);
      if (!size.ok()) {
        return Error(value_start, absl::StrCat("invalid size `", value, "` for `", op,
                                               ":` (expected a number with k, m or g)"));
      }
      term.kind = op == "larger" ? TermKind::kLarger : TermKind::kSmaller;
      term.size = *size;
      return term;
    }
    return Error(op_start, absl::StrCat("unknown operator `", op,
                                        ":` (quote the word to search for it literally)"));
  }

  absl::string_view query_;
  size_t pos_ = 0;
};

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<int64_t> ParseSize(absl::string_view text) {
  int shift = 0;
  if (!text.empty()) {
    switch (absl::ascii_tolower(text.back())) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) text.remove_suffix(1);
  }
  int64_t number = 0;
  if (!AllDigits(text) || !absl::SimpleAtoi(text, &number) ||
      number > (std::numeric_limits<int64_t>::max() >> shift)) {
    return absl::InvalidArgumentError("invalid size");
  }
  return number << shift;
}

absl::StatusOr<absl::Time> ParseQueryTime(absl::string_view text) {
  // The shape is checked here because absl::ParseTime is lenient about digit counts.
  const auto digits_at = [&](size_t at, size_t n) {
    return at + n <= text.size() && AllDigits(text.substr(at, n));
  };
  const bool date_shape = digits_at(0, 4) && text.size() >= 10 && text[4] == '-' &&
                          digits_at(5, 2) && text[7] == '-' && digits_at(8, 2);
  if (!date_shape) return absl::InvalidArgumentError("invalid time");
  absl::Time time;
  std::string error;
  if (text.size() == 10) {
    if (!absl::ParseTime("%Y-%m-%d", std::string(text), absl::UTCTimeZone(), &time, &error)) {
      return absl::InvalidArgumentError("invalid date");
    }
    return time;
  }
  if (!(text.size() >= 20 && (text[10] == 'T' || text[10] == 't') && digits_at(11, 2) &&
        text[13] == ':' && digits_at(14, 2) && text[16] == ':' && digits_at(17, 2))) {
    return absl::InvalidArgumentError("invalid time");
  }
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &time, &error)) {
    return absl::InvalidArgumentError("invalid time");
  }
  return time;
}

absl::StatusOr<MessageFilter> ParseQuery(absl::string_view query) {
  if (query.size() > kMaxQueryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("query: longer than ", kMaxQueryBytes, " bytes"));
  }
  if (!IsUtf8(query)) return absl::InvalidArgumentError("query: not valid UTF-8");
  return Parser(query).Parse();
}

}  // namespace mailroom::storage
