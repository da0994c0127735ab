#include "smtp/mime_summary.h"

#include <glib.h>
#include <gmime/gmime.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "smtp/gmime_document.h"
#include "smtp/gmime_init.h"
#include "smtp/gmime_ptr.h"
#include "smtp/html_text.h"
#include "smtp/rfc2047.h"

namespace mailroom::smtp {
namespace {

// A GByteArray that points at the caller's bytes instead of owning a copy, so that a
// multi-megabyte message is parsed in place. GMimeStreamMem only reads `data` and `len` of
// its array when it is read from, seeked or cut into substreams (which is all the parser
// does), and a stream that is not the array's owner never frees it. The array header itself
// comes from GLib and goes back to GLib with its original (empty) buffer.
// REQUIRES: the stream built on array() is never written to, and dies before this object.
class BorrowedByteArray {
 public:
  explicit BorrowedByteArray(absl::string_view bytes)
      : array_(g_byte_array_new()), original_data_(array_->data), original_len_(array_->len) {
    // GMime never writes through this pointer (see above); the cast is only for the type.
    array_->data = reinterpret_cast<guint8*>(const_cast<char*>(bytes.data()));
    array_->len = static_cast<guint>(bytes.size());
  }
  BorrowedByteArray(const BorrowedByteArray&) = delete;
  BorrowedByteArray& operator=(const BorrowedByteArray&) = delete;
  ~BorrowedByteArray() {
    array_->data = original_data_;
    array_->len = original_len_;
    g_byte_array_unref(array_);
  }

  GByteArray* array() const { return array_; }

 private:
  GByteArray* array_;
  guint8* original_data_;
  guint original_len_;
};

// GByteArray lengths are guint; a larger message (never accepted by the SMTP limits, but
// SummarizeMessage must not misbehave) is summarised from its first 4 GiB.
constexpr size_t kMaxParsedBytes = G_MAXUINT;

const char* DescribeWarning(GMimeParserWarning code) {
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
      return "duplicated header";
    case GMIME_WARN_DUPLICATED_PARAMETER:
      return "duplicated header parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
      return "header with unencoded 8-bit text that is not UTF-8";
    case GMIME_WARN_INVALID_CONTENT_TYPE:
      return "invalid Content-Type, taken as application/octet-stream";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      return "invalid RFC 2047 encoded header value";
    case GMIME_WARN_MALFORMED_MULTIPART:
      return "multipart without parts";
    case GMIME_WARN_TRUNCATED_MESSAGE:
      return "truncated message";
    case GMIME_WARN_MALFORMED_MESSAGE:
      return "malformed message";
    case GMIME_CRIT_INVALID_HEADER_NAME:
      return "invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER:
      return "conflicting header";
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      return "conflicting header parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      return "multipart without a boundary parameter";
    case GMIME_WARN_INVALID_PARAMETER:
      return "invalid header parameter";
    case GMIME_WARN_INVALID_ADDRESS_LIST:
      return "invalid address list";
    case GMIME_CRIT_NESTING_OVERFLOW:
      return "MIME parts nested too deeply";
    case GMIME_WARN_PART_WITHOUT_CONTENT:
      return "MIME part without content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return "MIME part without headers or content";
  }
  return "unrecognised MIME problem";
}

// Collected from GMime's parser warnings. A message can repeat one warning many times (a
// hostile one, millions); only the first few are kept.
constexpr size_t kMaxProblems = 20;

// Summaries are stored as PostgreSQL text and shown in UIs: every string leaves here as
// valid UTF-8 (ValidUtf8 from smtp/gmime_document.h: invalid bytes become U+FFFD). GMime's
// strings are NUL-terminated, so they never hold a NUL.

// A problem quotes at most this much of the offending input (a garbage "header" can be a
// megabyte long), cut at a character boundary.
constexpr size_t kMaxProblemBytes = 200;

void AddProblem(MessageSummary& summary, absl::string_view problem) {
  if (summary.problems.size() > kMaxProblems) return;
  if (summary.problems.size() == kMaxProblems) {
    summary.problems.push_back("further problems not listed");
    return;
  }
  std::string text = ValidUtf8(problem);
  if (text.size() > kMaxProblemBytes) {
    const char* cut = g_utf8_find_prev_char(text.data(), text.data() + kMaxProblemBytes + 1);
    text.resize(cut == nullptr ? 0 : cut - text.data());
    text += "…";
  }
  summary.problems.push_back(std::move(text));
}

void OnParserWarning(gint64 offset, GMimeParserWarning code, const gchar* item,
                     gpointer user_data) {
  auto& summary = *static_cast<MessageSummary*>(user_data);
  std::string problem = DescribeWarning(code);
  if (item != nullptr && *item != '\0') absl::StrAppend(&problem, ": ", item);
  if (offset >= 0) absl::StrAppend(&problem, " (at byte ", offset, ")");
  AddProblem(summary, problem);
}

// A display name as it would appear in the header: quoted when it holds characters that
// RFC 5322 §3.2.3 does not allow in an atom phrase.
std::string DisplayName(absl::string_view name) {
  bool needs_quotes = false;
  for (char c : name) {
    if (absl::string_view("()<>[]:;@\\,.\"").find(c) != absl::string_view::npos) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) return std::string(name);
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

void AppendAddresses(InternetAddressList* list, std::string* out);

// Formatted here rather than with internet_address_list_to_string(), which turns an
// internationalised domain into punycode: an SMTPUTF8 address is shown as it was written.
void AppendAddress(InternetAddress* address, std::string* out) {
  const char* name = internet_address_get_name(address);
  const bool has_name = name != nullptr && *name != '\0';
  if (INTERNET_ADDRESS_IS_GROUP(address)) {
    absl::StrAppend(out, has_name ? DisplayName(name) : "", ":");
    InternetAddressList* members =
        internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address));
    if (members != nullptr && internet_address_list_length(members) > 0) {
      out->push_back(' ');
      AppendAddresses(members, out);
    }
    out->push_back(';');
    return;
  }
  if (!INTERNET_ADDRESS_IS_MAILBOX(address)) return;
  const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address));
  if (addr == nullptr) addr = "";
  if (has_name) {
    absl::StrAppend(out, DisplayName(name), " <", addr, ">");
  } else {
    out->append(addr);
  }
}

void AppendAddresses(InternetAddressList* list, std::string* out) {
  const int count = internet_address_list_length(list);
  for (int i = 0; i < count; ++i) {
    if (i > 0) out->append(", ");
    AppendAddress(internet_address_list_get_address(list, i), out);
  }
}

std::string AddressesOf(InternetAddressList* list) {
  std::string out;
  if (list != nullptr) AppendAddresses(list, &out);
  return ValidUtf8(out);
}

bool IsAttachment(GMimeObject* object) {
  if (GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
      disposition != nullptr && g_mime_content_disposition_is_attachment(disposition)) {
    return true;
  }
  if (GMIME_IS_MESSAGE_PART(object)) return true;
  if (!GMIME_IS_PART(object)) return false;  // a multipart: its children decide
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (type != nullptr && g_mime_content_type_is_type(type, "text", "*")) return false;
  if (g_mime_object_get_content_id(object) != nullptr) return false;
  const char* filename = g_mime_part_get_filename(GMIME_PART(object));
  return filename != nullptr && *filename != '\0';
}

// Walks the MIME tree without recursion (GMime bounds the nesting depth it builds, but this
// walk does not rely on it).
bool HasAttachments(GMimeObject* root) {
  std::vector<GMimeObject*> pending;
  if (root != nullptr) pending.push_back(root);
  while (!pending.empty()) {
    GMimeObject* object = pending.back();
    pending.pop_back();
    if (IsAttachment(object)) return true;
    if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart* multipart = GMIME_MULTIPART(object);
      for (int i = g_mime_multipart_get_count(multipart) - 1; i >= 0; --i) {
        pending.push_back(g_mime_multipart_get_part(multipart, i));
      }
    }
  }
  return false;
}

// Cuts `text` (valid UTF-8) to at most `max` bytes at a character boundary.
void CutUtf8(std::string& text, size_t max) {
  if (text.size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

// The first body part of media type text/`subtype` outside attachments and attached
// messages, in tree order; nullptr when there is none.
GMimeTextPart* FindBodyPart(GMimeObject* root, const char* subtype) {
  std::vector<GMimeObject*> pending;
  if (root != nullptr) pending.push_back(root);
  while (!pending.empty()) {
    GMimeObject* object = pending.back();
    pending.pop_back();
    if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart* multipart = GMIME_MULTIPART(object);
      for (int i = g_mime_multipart_get_count(multipart) - 1; i >= 0; --i) {
        pending.push_back(g_mime_multipart_get_part(multipart, i));
      }
      continue;
    }
    // An attached message is a GMimeMessagePart, not a text part: it is never entered.
    if (!GMIME_IS_TEXT_PART(object) || IsAttachment(object)) continue;
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (type != nullptr && g_mime_content_type_is_type(type, "text", subtype)) {
      return GMIME_TEXT_PART(object);
    }
  }
  return nullptr;
}

// The search text of the message: see text_body in the header.
std::string TextBody(GMimeObject* root) {
  GMimeTextPart* part = FindBodyPart(root, "plain");
  const bool html = part == nullptr;
  if (html) part = FindBodyPart(root, "html");
  if (part == nullptr) return "";
  // Converted to UTF-8 from the part's charset (GMime guesses when it is missing or wrong).
  GCharPtr decoded(g_mime_text_part_get_text(part));
  if (decoded == nullptr) return "";
  std::string text = ValidUtf8(decoded.get());
  if (html) text = ValidUtf8(HtmlToText(text, kMaxTextBodyBytes));
  CutUtf8(text, kMaxTextBodyBytes);
  return text;
}

std::optional<absl::Time> ToAbslTime(GDateTime* date) {
  if (date == nullptr) return std::nullopt;
  return absl::FromUnixSeconds(g_date_time_to_unix(date)) +
         absl::Microseconds(g_date_time_get_microsecond(date));
}

}  // namespace

MessageSummary SummarizeMessage(absl::string_view raw) { return SummarizeMessage(raw, {}); }

MessageSummary SummarizeMessage(absl::string_view raw,
                                const std::vector<std::string>& header_names) {
  EnsureGMimeInitialized();
  MessageSummary summary;
  if (raw.size() > kMaxParsedBytes) {
    AddProblem(summary, absl::StrCat("message of ", raw.size(),
                                     " bytes: only the first 4 GiB were summarised"));
    raw = raw.substr(0, kMaxParsedBytes);
  }

  GMimeParserOptionsPtr options(g_mime_parser_options_new());
  g_mime_parser_options_set_rfc2047_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  // Undeclared 8-bit header text: UTF-8 if it is valid UTF-8, else windows-1252.
  const char* fallback_charsets[] = {"utf-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback_charsets);
  g_mime_parser_options_set_warning_callback(options.get(), OnParserWarning, &summary);

  // Declared in this order so that they die in reverse: the message (whose parts are
  // substreams of `stream`) before the parser and stream, and all before `bytes`.
  BorrowedByteArray bytes(raw);
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(bytes.array()));
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream.get()), FALSE);
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  // The parser's default "persistent stream" mode keeps part contents as substreams of
  // `stream` instead of copying them: a large attachment is never copied.
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options.get()));
  if (message == nullptr) {
    AddProblem(summary, "not an RFC 5322 message: no header section could be parsed");
    return summary;
  }

  GMimeObject* object = GMIME_OBJECT(message.get());
  summary.from = AddressesOf(g_mime_message_get_from(message.get()));
  summary.to = AddressesOf(g_mime_message_get_to(message.get()));
  summary.cc = AddressesOf(g_mime_message_get_cc(message.get()));
  // Decoded here rather than taken from g_mime_message_get_subject(), which loses broken
  // encoded words (see smtp/rfc2047.h).
  if (GMimeHeader* subject =
          g_mime_header_list_get_header(g_mime_object_get_header_list(object), "Subject");
      subject != nullptr && g_mime_header_get_raw_value(subject) != nullptr) {
    DecodedHeader decoded = DecodeUnstructuredHeader(g_mime_header_get_raw_value(subject));
    summary.subject = std::move(decoded.text);
    for (std::string& problem : decoded.problems) {
      AddProblem(summary, absl::StrCat("Subject: ", problem));
    }
  }
  if (const char* id = g_mime_message_get_message_id(message.get()); id != nullptr) {
    summary.message_id = ValidUtf8(id);
  }
  summary.date = ToAbslTime(g_mime_message_get_date(message.get()));

  if (g_mime_object_get_header(object, "From") == nullptr) {
    AddProblem(summary, "no From header");
  } else if (summary.from.empty()) {
    AddProblem(summary, "From header without a usable address");
  }
  if (const char* date = g_mime_object_get_header(object, "Date"); date == nullptr) {
    AddProblem(summary, "no Date header");
  } else if (!summary.date.has_value()) {
    AddProblem(summary, absl::StrCat("unparseable Date header: ", date));
  }

  summary.has_attachments = HasAttachments(g_mime_message_get_mime_part(message.get()));
  summary.text_body = TextBody(g_mime_message_get_mime_part(message.get()));
  if (!header_names.empty()) {
    for (MimeHeader& header : ConvertHeaders(object)) {
      for (const std::string& name : header_names) {
        if (!absl::EqualsIgnoreCase(header.name, name)) continue;
        summary.selected_headers.emplace_back(std::move(header.name), std::move(header.value));
        break;
      }
    }
  }
  return summary;
}

}  // namespace mailroom::smtp
