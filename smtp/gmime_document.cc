#include "smtp/gmime_document.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "smtp/gmime_init.h"
#include "smtp/rfc2047.h"

namespace mailroom::smtp {
namespace {

// A hostile message can repeat one warning millions of times; a reader needs the first few.
constexpr size_t kMaxWarnings = 32;

// GByteArray lengths are guint: a larger message is read from its first 4 GiB (the SMTP
// limits never accept one).
constexpr size_t kMaxParsedBytes = G_MAXUINT;

std::string Lower(const char* text) {
  return text == nullptr ? std::string() : absl::AsciiStrToLower(ValidUtf8(text));
}

// Strips the final line break GMime keeps at the end of a raw header value.
absl::string_view WithoutFinalBreak(absl::string_view raw) {
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
  return raw;
}

// RFC 5322 §2.2.3 unfolding: a line break followed by white space is removed.
std::string Unfold(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') continue;
    out.push_back(text[i]);
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

void AppendParams(GMimeParamList* params, std::string* out) {
  if (params == nullptr) return;
  const int count = g_mime_param_list_length(params);
  for (int i = 0; i < count; ++i) {
    GMimeParam* param = g_mime_param_list_get_parameter_at(params, i);
    const char* name = g_mime_param_get_name(param);
    const char* value = g_mime_param_get_value(param);
    absl::StrAppend(out, "; ", name == nullptr ? "" : name, "=\"");
    for (const char* c = value == nullptr ? "" : value; *c != '\0'; ++c) {
      if (*c == '"' || *c == '\\') out->push_back('\\');
      out->push_back(*c);
    }
    out->push_back('"');
  }
}

// Content-Type and Content-Disposition carry RFC 2231 parameters (encoded, continued), which
// GMime decodes when it parses them as such: the value shown is rebuilt from that parse.
std::string DecodeParameterizedHeader(absl::string_view name, const char* raw) {
  if (absl::EqualsIgnoreCase(name, "Content-Type")) {
    GObjectPtr<GMimeContentType> type(g_mime_content_type_parse(nullptr, raw));
    if (type == nullptr) return Unfold(raw);
    GCharPtr mime_type(g_mime_content_type_get_mime_type(type.get()));
    std::string out = mime_type == nullptr ? "" : mime_type.get();
    AppendParams(g_mime_content_type_get_parameters(type.get()), &out);
    return out;
  }
  GObjectPtr<GMimeContentDisposition> disposition(g_mime_content_disposition_parse(nullptr, raw));
  if (disposition == nullptr) return Unfold(raw);
  const char* kind = g_mime_content_disposition_get_disposition(disposition.get());
  std::string out = kind == nullptr ? "" : kind;
  AppendParams(g_mime_content_disposition_get_parameters(disposition.get()), &out);
  return out;
}

}  // namespace

GMimeDocument::GMimeDocument(absl::string_view raw) {
  EnsureGMimeInitialized();
  if (raw.size() > kMaxParsedBytes) {
    warnings_.push_back(
        absl::StrCat("message of ", raw.size(), " bytes: only the first 4 GiB were parsed"));
    raw = raw.substr(0, kMaxParsedBytes);
  }
  // The array borrows `raw` (see smtp/mime_summary.cc for why GMime never writes to it).
  array_ = g_byte_array_new();
  array_own_data_ = array_->data;
  array_own_len_ = array_->len;
  array_->data = reinterpret_cast<guint8*>(const_cast<char*>(raw.data()));
  array_->len = static_cast<guint>(raw.size());

  options_.reset(g_mime_parser_options_new());
  g_mime_parser_options_set_rfc2047_compliance_mode(options_.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  const char* fallback_charsets[] = {"utf-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(options_.get(), fallback_charsets);
  g_mime_parser_options_set_warning_callback(options_.get(), &GMimeDocument::OnWarning, this);

  stream_.reset(g_mime_stream_mem_new_with_byte_array(array_));
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream_.get()), FALSE);
  parser_.reset(g_mime_parser_new_with_stream(stream_.get()));
  g_mime_parser_set_format(parser_.get(), GMIME_FORMAT_MESSAGE);
  message_.reset(g_mime_parser_construct_message(parser_.get(), options_.get()));
}

GMimeDocument::~GMimeDocument() {
  // Parts hold substreams of stream_: the message goes first, the borrowed array last.
  message_.reset();
  parser_.reset();
  stream_.reset();
  array_->data = array_own_data_;
  array_->len = array_own_len_;
  g_byte_array_unref(array_);
}

void GMimeDocument::OnWarning(gint64 offset, GMimeParserWarning code, const gchar* item,
                              gpointer self) {
  auto& warnings = static_cast<GMimeDocument*>(self)->warnings_;
  if (warnings.size() > kMaxWarnings) return;
  if (warnings.size() == kMaxWarnings) {
    warnings.push_back("further problems not listed");
    return;
  }
  std::string text = absl::StrCat("parser warning ", static_cast<int>(code));
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
      text = "duplicated header";
      break;
    case GMIME_WARN_DUPLICATED_PARAMETER:
      text = "duplicated header parameter";
      break;
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
      text = "unencoded 8-bit header text";
      break;
    case GMIME_WARN_INVALID_CONTENT_TYPE:
      text = "invalid Content-Type";
      break;
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      text = "invalid RFC 2047 header value";
      break;
    case GMIME_WARN_MALFORMED_MULTIPART:
      text = "malformed multipart";
      break;
    case GMIME_WARN_TRUNCATED_MESSAGE:
      text = "truncated message";
      break;
    case GMIME_WARN_MALFORMED_MESSAGE:
      text = "malformed message";
      break;
    case GMIME_CRIT_INVALID_HEADER_NAME:
      text = "invalid header name";
      break;
    case GMIME_CRIT_CONFLICTING_HEADER:
      text = "conflicting header";
      break;
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      text = "conflicting header parameter";
      break;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      text = "multipart without boundary";
      break;
    case GMIME_WARN_INVALID_PARAMETER:
      text = "invalid header parameter";
      break;
    case GMIME_WARN_INVALID_ADDRESS_LIST:
      text = "invalid address list";
      break;
    case GMIME_CRIT_NESTING_OVERFLOW:
      text = "MIME parts nested too deeply";
      break;
    case GMIME_WARN_PART_WITHOUT_CONTENT:
      text = "MIME part without content";
      break;
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      text = "MIME part without headers or content";
      break;
  }
  if (item != nullptr && *item != '\0') {
    absl::StrAppend(&text, ": ", absl::string_view(item).substr(0, 200));
  }
  if (offset >= 0) absl::StrAppend(&text, " (at byte ", offset, ")");
  warnings.push_back(ValidUtf8(text));
}

std::string ValidUtf8(absl::string_view text) {
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) {
    return std::string(text);
  }
  GCharPtr valid(g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
  return std::string(valid.get());
}

std::vector<MimeHeader> ConvertHeaders(GMimeObject* object) {
  // GMime files a message's Content-* fields under its body part; both lists carry each
  // field's offset in the input, which restores the order of the message.
  std::vector<std::pair<gint64, GMimeHeader*>> fields;
  auto collect = [&fields](GMimeObject* source) {
    GMimeHeaderList* list = source == nullptr ? nullptr : g_mime_object_get_header_list(source);
    if (list == nullptr) return;
    const int count = g_mime_header_list_get_count(list);
    for (int i = 0; i < count; ++i) {
      GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
      fields.emplace_back(g_mime_header_get_offset(header), header);
    }
  };
  collect(object);
  if (GMIME_IS_MESSAGE(object)) {
    GMimeObject* body = g_mime_message_get_mime_part(GMIME_MESSAGE(object));
    const size_t own = fields.size();
    collect(body);
    // A field present in both lists (GMime may mirror some) is kept once.
    std::vector<std::pair<gint64, GMimeHeader*>> unique(fields.begin(), fields.begin() + own);
    for (size_t i = own; i < fields.size(); ++i) {
      bool seen = false;
      for (size_t j = 0; j < own; ++j) seen = seen || fields[j].first == fields[i].first;
      if (!seen) unique.push_back(fields[i]);
    }
    fields = std::move(unique);
    std::stable_sort(fields.begin(), fields.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  std::vector<MimeHeader> headers;
  headers.reserve(fields.size());
  for (const auto& [offset, header] : fields) {
    const char* name = g_mime_header_get_name(header);
    const char* raw = g_mime_header_get_raw_value(header);
    if (raw == nullptr) raw = "";
    MimeHeader out;
    out.name = ValidUtf8(name == nullptr ? "" : name);
    out.raw_value = ValidUtf8(WithoutFinalBreak(raw));
    if (absl::EqualsIgnoreCase(out.name, "Content-Type") ||
        absl::EqualsIgnoreCase(out.name, "Content-Disposition")) {
      out.value = ValidUtf8(DecodeParameterizedHeader(out.name, raw));
    } else {
      out.value = Unfold(DecodeUnstructuredHeader(WithoutFinalBreak(raw)).text);
    }
    headers.push_back(std::move(out));
  }
  return headers;
}

MimeNode DescribeObject(GMimeObject* object, const std::string& part_id) {
  MimeNode node;
  node.part_id = part_id;
  node.content_type = "text/plain";
  if (GMimeContentType* type = g_mime_object_get_content_type(object); type != nullptr) {
    GCharPtr mime_type(g_mime_content_type_get_mime_type(type));
    if (mime_type != nullptr) node.content_type = Lower(mime_type.get());
    node.charset = Lower(g_mime_content_type_get_parameter(type, "charset"));
  }
  node.transfer_encoding = std::string(absl::StripAsciiWhitespace(
      Lower(g_mime_object_get_header(object, "Content-Transfer-Encoding"))));
  GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
  if (disposition != nullptr) {
    const char* kind = g_mime_content_disposition_get_disposition(disposition);
    // RFC 2183 §2.8: an unknown disposition type is treated as attachment.
    node.disposition = kind != nullptr && g_ascii_strcasecmp(kind, "inline") == 0
                           ? MimeDisposition::kInline
                           : MimeDisposition::kAttachment;
  }
  if (GMIME_IS_PART(object)) {
    if (const char* filename = g_mime_part_get_filename(GMIME_PART(object)); filename) {
      node.filename = ValidUtf8(filename);
    }
  } else if (disposition != nullptr) {
    if (const char* filename = g_mime_content_disposition_get_parameter(disposition, "filename");
        filename != nullptr) {
      node.filename = ValidUtf8(filename);
    }
  }
  if (const char* id = g_mime_object_get_content_id(object); id != nullptr) {
    node.content_id = ValidUtf8(id);
  }

  GObjectPtr<GMimeStream> counter(g_mime_stream_null_new());
  if (GMIME_IS_PART(object)) {
    if (GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(object)); content) {
      g_mime_data_wrapper_write_to_stream(content, counter.get());
    }
  } else {
    g_mime_object_write_content_to_stream(object, nullptr, counter.get());
  }
  // Counted by the sink: the wrappers report what they read, which is the encoded length.
  node.size_bytes = static_cast<int64_t>(GMIME_STREAM_NULL(counter.get())->written);
  return node;
}

std::vector<MailAddress> ConvertAddresses(InternetAddressList* list) {
  std::vector<MailAddress> out;
  if (list == nullptr) return out;
  const int count = internet_address_list_length(list);
  for (int i = 0; i < count; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(address)) {
      std::vector<MailAddress> members =
          ConvertAddresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)));
      for (MailAddress& member : members) out.push_back(std::move(member));
      continue;
    }
    if (!INTERNET_ADDRESS_IS_MAILBOX(address)) continue;
    const char* name = internet_address_get_name(address);
    const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address));
    out.push_back(MailAddress{.name = ValidUtf8(name == nullptr ? "" : name),
                              .address = ValidUtf8(addr == nullptr ? "" : addr)});
  }
  return out;
}

}  // namespace mailroom::smtp
