// ParseMimeMessage and ExtractMimePart: the full reading of one stored message for people and
// programs, as MessageService.GetMessage and GetMessagePart serve it. Every header field in
// order (raw and decoded), the MIME tree with part ids, the text and HTML bodies in UTF-8,
// the attachment list and what could not be parsed.
//
// It sits at the end of the query path: server/ reads the raw bytes from storage and hands
// them here. smtp/mime_summary.h is the cheap cousin used at capture time. Mail is untrusted:
// parsing never fails, problems are listed and the rest is returned. Every string leaving
// here is valid UTF-8 (invalid bytes become U+FFFD), so it can go into a protobuf string.
//
// Part ids: "1" is the root (the whole message); the n-th child of part P is "P.n"; a
// message/rfc822 part has one child, the root of the embedded message.
//
// Thread-safety: free functions on values; safe to call from any thread (GMime is
// initialised once, see smtp/gmime_init.h).

#ifndef MAILROOM_SMTP_MIME_MESSAGE_H_
#define MAILROOM_SMTP_MIME_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mailroom::smtp {

struct MimeHeader {
  std::string name;       // as written (case kept)
  std::string value;      // unfolded, RFC 2047 / RFC 2231 decoded, UTF-8
  std::string raw_value;  // after the colon up to the final line break, folding kept
};

enum class MimeDisposition { kUnspecified, kInline, kAttachment };

struct MimeNode {
  std::string part_id;
  std::string content_type;       // lower-cased "type/subtype"; "text/plain" by default
  std::string charset;            // lower-cased; empty when absent
  std::string transfer_encoding;  // lower-cased; empty when absent
  MimeDisposition disposition = MimeDisposition::kUnspecified;
  std::string filename;    // decoded
  std::string content_id;  // without angle brackets
  // Leaf: decoded content length. Multipart / message/rfc822: length of the body as written.
  int64_t size_bytes = 0;
  std::vector<MimeHeader> headers;  // empty for the root (see ParsedMessage::headers)
  std::vector<MimeNode> parts;
};

struct MailAddress {
  std::string name;     // display name, decoded; empty when none
  std::string address;  // addr-spec as written
};

struct MimeAttachment {
  std::string part_id;
  std::string filename;
  std::string content_type;
  int64_t size_bytes = 0;
  std::string content_id;
  MimeDisposition disposition = MimeDisposition::kUnspecified;
};

struct MimeProblem {
  std::string part_id;  // empty when it concerns the whole message
  std::string description;
};

struct ParsedMessage {
  std::vector<MimeHeader> headers;        // the top-level header block, in order
  std::vector<MailAddress> from, to, cc;  // groups flattened to their members
  std::string subject;
  std::optional<absl::Time> date;
  std::string message_id;  // without angle brackets
  MimeNode root;
  std::string text_body, text_body_part_id;
  std::string html_body, html_body_part_id;
  std::vector<MimeAttachment> attachments;
  std::vector<MimeProblem> problems;
};

// Parses `raw`. Never fails: an unparseable message is a single empty text/plain root with
// a problem.
ParsedMessage ParseMimeMessage(absl::string_view raw);

struct MimePartContent {
  MimeNode part;     // metadata, with `parts` left empty
  std::string data;  // transfer encoding undone, charset untouched; for message/rfc822 the
                     // embedded message as GMime writes it back
};

// Returns the decoded content of the part `part_id` of `raw`.
// NotFound when there is no such part; InvalidArgument when it is a multipart container.
absl::StatusOr<MimePartContent> ExtractMimePart(absl::string_view raw, absl::string_view part_id);

// Parses an address list as stored in a summary ("Ann <a@x>, b@y"); groups are flattened,
// unparseable entries are left out.
std::vector<MailAddress> ParseAddressList(absl::string_view text);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_MIME_MESSAGE_H_
