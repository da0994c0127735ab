// GMimeDocument: one raw message parsed by GMime in place (its bytes are borrowed, never
// copied), with the parser's warnings collected, plus the small conversions from GMime
// objects to smtp/mime_message.h values that the readers of a document share.
//
// Internal to smtp/mime_message.cc and its siblings; not part of the engine's interface.
// Thread-safety: a document is used by one thread at a time; distinct documents are
// independent.

#ifndef MAILROOM_SMTP_GMIME_DOCUMENT_H_
#define MAILROOM_SMTP_GMIME_DOCUMENT_H_

#include <glib.h>
#include <gmime/gmime.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "smtp/gmime_ptr.h"
#include "smtp/mime_message.h"

namespace mailroom::smtp {

class GMimeDocument {
 public:
  // REQUIRES: `raw` outlives the document.
  explicit GMimeDocument(absl::string_view raw);
  ~GMimeDocument();
  GMimeDocument(const GMimeDocument&) = delete;
  GMimeDocument& operator=(const GMimeDocument&) = delete;

  // Null when not even a header section could be parsed.
  GMimeMessage* message() const { return message_.get(); }
  // The parser's warnings in words, at most a few dozen.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  static void OnWarning(gint64 offset, GMimeParserWarning code, const gchar* item, gpointer self);

  std::vector<std::string> warnings_;
  GByteArray* array_;  // points at the caller's bytes; restored and unreffed last
  guint8* array_own_data_;
  guint array_own_len_;
  GMimeParserOptionsPtr options_;
  GObjectPtr<GMimeStream> stream_;
  GObjectPtr<GMimeParser> parser_;
  GObjectPtr<GMimeMessage> message_;
};

// `text` with invalid UTF-8 sequences replaced by U+FFFD.
std::string ValidUtf8(absl::string_view text);

// The header fields of `object` in order, raw and decoded.
std::vector<MimeHeader> ConvertHeaders(GMimeObject* object);

// The metadata of `object` (no headers, no children); size_bytes as MimeNode documents.
MimeNode DescribeObject(GMimeObject* object, const std::string& part_id);

// The mailboxes of `list`, groups flattened. Null gives an empty list.
std::vector<MailAddress> ConvertAddresses(InternetAddressList* list);

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_GMIME_DOCUMENT_H_
