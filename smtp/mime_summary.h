// SummarizeMessage: the header facts of a received message (From, To, Cc, Subject, Date,
// Message-ID, whether it carries attachments) that are stored next to the raw bytes so that
// listing and searching messages never re-parses them.
//
// It sits after the SMTP session on the data path: the capture sink calls it on
// ReceivedMessage::raw before the message is committed. Mail from an SMTP client is
// untrusted and often sloppy, so summarising never fails: whatever cannot be parsed is left
// empty (or kept raw) and described in `problems`.
//
// Parsing uses GMime 3. The Subject is decoded by smtp/rfc2047.h: encoded words in any
// charset iconv knows (ISO-8859-1, ISO-2022-JP, windows-1252, UTF-8, ...) become UTF-8, and
// a broken encoded word (unknown charset, bad base64, bytes invalid in its charset) is kept
// as its raw text and named in `problems`. Display names in From/To/Cc are decoded by
// GMime's address parser ("loose" RFC 2047 mode), which drops or '?'-substitutes a broken
// word instead; addresses GMime cannot parse are left out and reported. Addresses are shown
// as written (an internationalised domain stays UTF-8, not punycode). Unencoded 8-bit header
// text is taken as UTF-8 when it is valid UTF-8 (RFC 6532, what SMTPUTF8 clients send) and
// otherwise as windows-1252, the usual charset of legacy 8-bit mail, with a problem.
//
// has_attachments is true when any part of the message is an attachment by this rule:
//   - its Content-Disposition is "attachment", or
//   - it is an attached message (message/rfc822, message/global), or
//   - it is a leaf part that is not text/* and has a filename (Content-Disposition
//     filename or Content-Type name) and no Content-ID.
// A part with a Content-ID and no "attachment" disposition is an inline body resource (an
// image in multipart/related referenced as "cid:" from the HTML), part of how the message
// renders rather than a file the sender attached, so it does not count; text parts without
// an "attachment" disposition are body text even when they carry a filename. Parts inside an
// attached message are that message's, and are not examined.
//
// text_body is what full-text search indexes besides the subject: the decoded text of the
// first text/plain part that is not an attachment, else the text of the first such text/html
// part with its markup removed (smtp/html_text.h), converted to UTF-8 from its charset and
// cut to kMaxTextBodyBytes at a character boundary. Attached messages are not searched.
//
// Thread-safety: thread-safe; any number of threads may call SummarizeMessage at once (each
// call uses its own GMime parser and options; GMime's shared charset tables are locked).

#ifndef MAILROOM_SMTP_MIME_SUMMARY_H_
#define MAILROOM_SMTP_MIME_SUMMARY_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mailroom::smtp {

// The most bytes of body text indexed for search. Indexing is paid for on the capture path:
// on this project's 2-core machine, 100 KiB messages at 50 sessions went from ~1,060
// messages/s with no body indexed to ~860 with 16 KiB and ~490 with 64 KiB (bench/README.md),
// while the mail people search for (notifications, password resets) has its words early.
inline constexpr size_t kMaxTextBodyBytes = 16 * 1024;

struct MessageSummary {
  std::string from;                   // decoded display form of From ("Ann <ann@example.com>")
  std::string to, cc;                 // decoded, comma-separated as in the header
  std::string subject;                // RFC 2047 decoded to UTF-8
  std::optional<absl::Time> date;     // parsed Date header
  std::string message_id;             // without angle brackets
  bool has_attachments = false;       // see the rule above
  std::string text_body;              // for search; see above
  std::vector<std::string> problems;  // what could not be parsed, in words
  // The decoded values (MimeHeader::value) of the header fields asked for by name, in
  // message order, each occurrence once; empty unless names were given.
  std::vector<std::pair<std::string, std::string>> selected_headers;
};

// Summarises the RFC 5322 message `raw` (the bytes as received: CRLF line ends, dot-stuffing
// undone). Never fails: a malformed message yields what could be parsed plus problems; input
// that is no message at all yields an empty summary with a problem saying so. Absent From and
// Date headers (required by RFC 5322 §3.6) are problems; an absent Subject, To, Cc or
// Message-ID is not. `raw` is read in place, not copied, and must not change during the call.
MessageSummary SummarizeMessage(absl::string_view raw);

// As above, and fills `selected_headers` with every field of the top-level header section
// whose name equals one of `header_names` (case-insensitively). Routing calls it only when a
// header rule needs the values, so plain capture pays for no header decoding.
MessageSummary SummarizeMessage(absl::string_view raw,
                                const std::vector<std::string>& header_names);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_MIME_SUMMARY_H_
