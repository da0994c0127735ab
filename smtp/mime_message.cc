#include "smtp/mime_message.h"

#include <glib.h>
#include <gmime/gmime.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "smtp/gmime_document.h"
#include "smtp/gmime_init.h"
#include "smtp/gmime_ptr.h"
#include "smtp/rfc2047.h"

namespace mailroom::smtp {
namespace {

// One step of the walk: the object whose content and metadata make the node, and the one
// whose header block the node shows (they differ for an embedded message, whose node shows
// the embedded message's own headers).
struct Entity {
  GMimeObject* content = nullptr;
  GMimeObject* header_source = nullptr;
};

// The root entity of `message`; null content when the message has no body part at all.
Entity RootOf(GMimeMessage* message) {
  return Entity{.content = g_mime_message_get_mime_part(message),
                .header_source = GMIME_OBJECT(message)};
}

// The children of `object` in part-id order.
std::vector<Entity> ChildrenOf(GMimeObject* object) {
  std::vector<Entity> children;
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* multipart = GMIME_MULTIPART(object);
    const int count = g_mime_multipart_get_count(multipart);
    for (int i = 0; i < count; ++i) {
      GMimeObject* child = g_mime_multipart_get_part(multipart, i);
      children.push_back(Entity{.content = child, .header_source = child});
    }
  } else if (GMIME_IS_MESSAGE_PART(object)) {
    if (GMimeMessage* embedded = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
        embedded != nullptr && g_mime_message_get_mime_part(embedded) != nullptr) {
      children.push_back(RootOf(embedded));
    }
  }
  return children;
}

class TreeWalk {
 public:
  explicit TreeWalk(ParsedMessage& out) : out_(out) {}

  void Walk(const Entity& entity, const std::string& part_id, bool is_root, bool embedded,
            MimeNode& node) {
    node = DescribeObject(entity.content, part_id);
    if (!is_root) node.headers = ConvertHeaders(entity.header_source);
    std::vector<Entity> children = ChildrenOf(entity.content);
    if (GMIME_IS_MULTIPART(entity.content) || GMIME_IS_MESSAGE_PART(entity.content)) {
      const bool inner_embedded = embedded || GMIME_IS_MESSAGE_PART(entity.content);
      node.parts.resize(children.size());
      for (size_t i = 0; i < children.size(); ++i) {
        Walk(children[i], absl::StrCat(part_id, ".", i + 1), false, inner_embedded, node.parts[i]);
      }
      return;
    }
    VisitLeaf(entity.content, node, embedded);
  }

 private:
  // The bodies are the first text/plain and text/html leaves of the message itself (not of
  // an embedded message) that are not attachments; every other leaf is checked against the
  // attachment rule of Message.attachments.
  void VisitLeaf(GMimeObject* object, const MimeNode& node, bool embedded) {
    const bool body_candidate = !embedded && node.disposition != MimeDisposition::kAttachment;
    if (body_candidate && node.content_type == "text/plain" && out_.text_body_part_id.empty()) {
      out_.text_body = TextOf(object);
      out_.text_body_part_id = node.part_id;
      return;
    }
    if (body_candidate && node.content_type == "text/html" && out_.html_body_part_id.empty()) {
      out_.html_body = TextOf(object);
      out_.html_body_part_id = node.part_id;
      return;
    }
    const bool is_text = node.content_type == "text/plain" || node.content_type == "text/html";
    if (node.disposition == MimeDisposition::kAttachment || !node.filename.empty() ||
        !node.content_id.empty() || !is_text) {
      out_.attachments.push_back(MimeAttachment{.part_id = node.part_id,
                                                .filename = node.filename,
                                                .content_type = node.content_type,
                                                .size_bytes = node.size_bytes,
                                                .content_id = node.content_id,
                                                .disposition = node.disposition});
    }
  }

  // GMime converts a text part from its declared charset (or its fallback guesses) to UTF-8.
  static std::string TextOf(GMimeObject* object) {
    if (!GMIME_IS_TEXT_PART(object)) return "";
    GCharPtr text(g_mime_text_part_get_text(GMIME_TEXT_PART(object)));
    return text == nullptr ? "" : ValidUtf8(text.get());
  }

  ParsedMessage& out_;
};

std::optional<absl::Time> ToTime(GDateTime* date) {
  if (date == nullptr) return std::nullopt;
  return absl::FromUnixSeconds(g_date_time_to_unix(date)) +
         absl::Microseconds(g_date_time_get_microsecond(date));
}

MimeNode EmptyRoot() {
  MimeNode root;
  root.part_id = "1";
  root.content_type = "text/plain";
  return root;
}

// Finds the entity `part_id` names, or NotFound.
absl::StatusOr<Entity> FindEntity(GMimeMessage* message, absl::string_view part_id) {
  const absl::Status not_found =
      absl::NotFoundError(absl::StrCat("part_id: the message has no part ", part_id));
  std::vector<absl::string_view> steps = absl::StrSplit(part_id, '.');
  if (message == nullptr || steps.empty() || steps[0] != "1") return not_found;
  Entity entity = RootOf(message);
  if (entity.content == nullptr) return not_found;
  for (size_t i = 1; i < steps.size(); ++i) {
    int index = 0;
    if (!absl::SimpleAtoi(steps[i], &index) || index < 1) return not_found;
    std::vector<Entity> children = ChildrenOf(entity.content);
    if (static_cast<size_t>(index) > children.size()) return not_found;
    entity = children[index - 1];
  }
  return entity;
}

std::string StreamBytes(GMimeStream* stream) {
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

}  // namespace

ParsedMessage ParseMimeMessage(absl::string_view raw) {
  ParsedMessage parsed;
  GMimeDocument document(raw);
  GMimeMessage* message = document.message();
  if (message == nullptr) {
    parsed.root = EmptyRoot();
    parsed.problems.push_back(
        MimeProblem{.part_id = "",
                    .description = "not an RFC 5322 message: no header section could be parsed"});
    return parsed;
  }
  GMimeObject* object = GMIME_OBJECT(message);
  parsed.headers = ConvertHeaders(object);
  parsed.from = ConvertAddresses(g_mime_message_get_from(message));
  parsed.to = ConvertAddresses(g_mime_message_get_to(message));
  parsed.cc = ConvertAddresses(g_mime_message_get_cc(message));
  for (const MimeHeader& header : parsed.headers) {
    if (parsed.subject.empty() && absl::EqualsIgnoreCase(header.name, "Subject")) {
      parsed.subject = header.value;
    }
  }
  if (const char* id = g_mime_message_get_message_id(message); id != nullptr) {
    parsed.message_id = ValidUtf8(id);
  }
  parsed.date = ToTime(g_mime_message_get_date(message));

  Entity root = RootOf(message);
  if (root.content == nullptr) {
    parsed.root = EmptyRoot();
  } else {
    TreeWalk(parsed).Walk(root, "1", /*is_root=*/true, /*embedded=*/false, parsed.root);
  }
  for (const std::string& warning : document.warnings()) {
    parsed.problems.push_back(MimeProblem{.part_id = "", .description = warning});
  }
  return parsed;
}

absl::StatusOr<MimePartContent> ExtractMimePart(absl::string_view raw, absl::string_view part_id) {
  GMimeDocument document(raw);
  absl::StatusOr<Entity> entity = FindEntity(document.message(), part_id);
  if (!entity.ok()) return entity.status();
  if (GMIME_IS_MULTIPART(entity->content)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "part_id: part ", part_id, " is a multipart container, which has no content of its own"));
  }
  MimePartContent out;
  const bool is_root = part_id == "1";
  out.part = DescribeObject(entity->content, std::string(part_id));
  if (!is_root) out.part.headers = ConvertHeaders(entity->header_source);

  GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
  if (GMIME_IS_MESSAGE_PART(entity->content)) {
    GMimeMessage* embedded = g_mime_message_part_get_message(GMIME_MESSAGE_PART(entity->content));
    if (embedded != nullptr) {
      g_mime_object_write_to_stream(GMIME_OBJECT(embedded), nullptr, sink.get());
    }
  } else if (GMIME_IS_PART(entity->content)) {
    if (GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(entity->content));
        content != nullptr) {
      g_mime_data_wrapper_write_to_stream(content, sink.get());
    }
  }
  out.data = StreamBytes(sink.get());
  return out;
}

std::vector<MailAddress> ParseAddressList(absl::string_view text) {
  EnsureGMimeInitialized();
  if (text.empty()) return {};
  std::string copy(text);  // GMime wants a NUL-terminated string
  GObjectPtr<InternetAddressList> list(internet_address_list_parse(nullptr, copy.c_str()));
  return ConvertAddresses(list.get());
}

}  // namespace mailroom::smtp
