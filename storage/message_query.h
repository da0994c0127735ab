// The search query of ListMessages, DeleteMessages, WatchMessages and WaitForMessage: its
// syntax tree (MessageFilter) and the parser from the text a user types (ParseQuery).
//
// The syntax is the one documented on ListMessagesRequest.query in
// proto/mailroom/v1/message_service.proto: white-space separated terms, all ANDed; free
// words and "quoted phrases" (full-text search over subject and text body), from:, to:,
// cc:, subject: (case-insensitive substring), is:read, is:unread, has:attachment,
// after:/before: (date or RFC 3339 time), larger:/smaller: (sizes with k/m/g), and `-` in
// front of any term to negate it. The parser knows nothing of SQL: storage/message_sql.h
// turns a MessageFilter into a parameterised WHERE clause.
//
// Errors are InvalidArgument with the 1-based position in characters and the problem, as
// the API promises: "query: position 9: unknown operator `form:`".
//
// Thread-safety: pure functions over plain values.

#ifndef MAILROOM_STORAGE_MESSAGE_QUERY_H_
#define MAILROOM_STORAGE_MESSAGE_QUERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mailroom::storage {

// The most bytes and terms a query may have.
inline constexpr size_t kMaxQueryBytes = 2048;
inline constexpr size_t kMaxQueryTerms = 64;

enum class TermKind {
  kWord,           // text: one word of the subject or text body
  kPhrase,         // text: words next to each other in the subject or text body
  kFrom,           // text: substring of the From header or the envelope sender
  kTo,             // text: substring of any recipient (envelope, To, Cc)
  kCc,             // text: substring of the Cc header
  kSubject,        // text: substring of the decoded subject
  kRead,           // is:read (is:unread is a negated kRead)
  kHasAttachment,  // has:attachment
  kAfter,          // time: received at or after
  kBefore,         // time: received before
  kLarger,         // size: raw size larger than
  kSmaller,        // size: raw size smaller than
};

// One term of a query.
struct Term {
  TermKind kind = TermKind::kWord;
  bool negated = false;  // `-TERM`, and is:unread
  std::string text{};    // kWord, kPhrase and the substring operators: the value, unquoted
  absl::Time time{};     // kAfter, kBefore
  int64_t size = 0;      // kLarger, kSmaller: bytes
  int position = 0;      // 1-based character position of the term in the query text

  friend bool operator==(const Term&, const Term&) = default;
};

// A parsed query: a message matches when it matches every term. No terms matches every
// message.
struct MessageFilter {
  std::vector<Term> terms{};
  // The query text as given; page tokens are bound to it (storage/page_token.h).
  std::string source{};
};

// Parses `query`. Returns InvalidArgument "query: position N: <problem>" (N counted in
// characters from 1) when it does not follow the syntax, or "query: ..." without a position
// when it is longer than kMaxQueryBytes or not UTF-8.
absl::StatusOr<MessageFilter> ParseQuery(absl::string_view query);

// Parses a SIZE value ("10k", "2M", "123"): a whole number of bytes with an optional k, m or
// g suffix (powers of 1024). Returns InvalidArgument on anything else or on overflow.
absl::StatusOr<int64_t> ParseSize(absl::string_view text);

// Parses a TIME value: "YYYY-MM-DD" (00:00:00 UTC that day) or an RFC 3339 date-time
// ("2024-05-01T10:30:00Z", "2024-05-01T12:30:00.5+02:00"). Returns InvalidArgument otherwise.
absl::StatusOr<absl::Time> ParseQueryTime(absl::string_view text);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MESSAGE_QUERY_H_
