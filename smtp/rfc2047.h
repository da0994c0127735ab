// DecodeUnstructuredHeader: turns the raw value of an unstructured header field (RFC 5322
// §3.2.5: Subject, Comments, ...) into UTF-8, decoding RFC 2047 encoded words.
//
// GMime's own decoder is lossy exactly where a capture tool must not be: an encoded word with
// bad base64 or bytes invalid in its charset comes back empty or with '?' substituted. This
// one keeps such a word as its raw text and says so, so that what a sender's software got
// wrong stays visible.
//
// Rules (lenient where real mail needs it, strict where decoding would invent text):
//   - Encoded words are recognised anywhere, also inside a word (as most mail readers do);
//     whitespace between two encoded words is dropped (RFC 2047 §6.2).
//   - Adjacent encoded words in the same charset are converted together, so a multi-byte
//     character (or an ISO-2022-JP escape state) split across two words decodes.
//   - A charset's RFC 2231 language suffix ("utf-8*en") is ignored; charset names go through
//     GMime's alias table, then iconv.
//   - "B" words may omit their '=' padding; anything else wrong (unknown charset, characters
//     outside base64, "=" not followed by two hex digits in "Q", bytes invalid in the
//     charset) keeps the word's raw text and adds a problem.
//   - Undeclared 8-bit text is kept when it is valid UTF-8 (RFC 6532) and otherwise read as
//     windows-1252 (ISO-8859-1 when windows-1252 leaves one of its bytes undefined). That is
//     not reported here: GMime's parser already warns about such a header.
//   - A word that decodes to a NUL character is broken too (no header text contains one,
//     and PostgreSQL text cannot store it).
//   - Folding line breaks are removed (RFC 5322 §2.2.3) and the value is trimmed.
//
// Thread-safety: thread-safe (no shared state besides GMime's locked charset table).
// REQUIRES: EnsureGMimeInitialized() was called (the charset alias table is GMime's).

#ifndef MAILROOM_SMTP_RFC2047_H_
#define MAILROOM_SMTP_RFC2047_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mailroom::smtp {

struct DecodedHeader {
  std::string text;                   // UTF-8
  std::vector<std::string> problems;  // one per broken encoded word
};

DecodedHeader DecodeUnstructuredHeader(absl::string_view raw_value);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_RFC2047_H_
