#include "server/message_convert.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/proto_time.h"
#include "server/routing/decision_json.h"

namespace mailroom::server {
namespace {

void AddAddresses(const std::vector<smtp::MailAddress>& addresses,
                  google::protobuf::RepeatedPtrField<v1::EmailAddress>* out) {
  for (const smtp::MailAddress& address : addresses) {
    v1::EmailAddress* added = out->Add();
    added->set_name(address.name);
    added->set_address(address.address);
  }
}

void AddParameters(const std::vector<storage::SmtpParameter>& parameters,
                   google::protobuf::RepeatedPtrField<v1::SmtpParameter>* out) {
  for (const storage::SmtpParameter& parameter : parameters) {
    v1::SmtpParameter* added = out->Add();
    added->set_keyword(parameter.keyword);
    added->set_value(parameter.value);
  }
}

// Message repeats MessageSummary's fields 1-15 with the same names, so one template fills
// both; the header addresses are left to the caller.
template <typename Proto>
void FillStoredFields(const storage::MessageSummaryRow& row, Proto* out) {
  out->set_id(row.id);
  for (const std::string& mailbox : row.mailboxes) out->add_mailboxes(mailbox);
  v1::Envelope* envelope = out->mutable_envelope();
  envelope->set_mail_from(row.envelope_from);
  AddParameters(row.mail_parameters, envelope->mutable_mail_parameters());
  for (const storage::StoredRecipient& recipient : row.recipients) {
    v1::EnvelopeRecipient* added = envelope->add_recipients();
    added->set_address(recipient.address);
    AddParameters(recipient.parameters, added->mutable_parameters());
  }
  out->set_subject(row.subject);
  if (row.date.has_value()) SetTimestamp(*row.date, out->mutable_date());
  out->set_internet_message_id(row.message_id_header);
  out->set_size_bytes(row.size_bytes);
  out->set_read(row.read);
  out->set_has_attachments(row.has_attachments);
  SetTimestamp(row.received_at, out->mutable_receive_time());
  out->set_session_id(row.session_id);
  out->set_auth_user(row.auth_user);
}

v1::MimePart::Disposition ToProto(smtp::MimeDisposition disposition) {
  switch (disposition) {
    case smtp::MimeDisposition::kInline:
      return v1::MimePart::DISPOSITION_INLINE;
    case smtp::MimeDisposition::kAttachment:
      return v1::MimePart::DISPOSITION_ATTACHMENT;
    case smtp::MimeDisposition::kUnspecified:
      break;
  }
  return v1::MimePart::DISPOSITION_UNSPECIFIED;
}

void AddHeaders(const std::vector<smtp::MimeHeader>& headers,
                google::protobuf::RepeatedPtrField<v1::Header>* out) {
  for (const smtp::MimeHeader& header : headers) {
    v1::Header* added = out->Add();
    added->set_name(header.name);
    added->set_value(header.value);
    added->set_raw_value(header.raw_value);
  }
}

}  // namespace

void ToSummaryProto(const storage::MessageSummaryRow& row, v1::MessageSummary* out) {
  FillStoredFields(row, out);
  AddAddresses(smtp::ParseAddressList(row.from_header), out->mutable_from());
  AddAddresses(smtp::ParseAddressList(row.to_header), out->mutable_to());
  AddAddresses(smtp::ParseAddressList(row.cc_header), out->mutable_cc());
}

void ToMessageProto(const storage::MessageRecord& record, const smtp::ParsedMessage& parsed,
                    v1::Message* out) {
  FillStoredFields(record.summary, out);
  AddAddresses(parsed.from, out->mutable_from());
  AddAddresses(parsed.to, out->mutable_to());
  AddAddresses(parsed.cc, out->mutable_cc());
  AddHeaders(parsed.headers, out->mutable_headers());
  ToMimePartProto(parsed.root, /*with_children=*/true, out->mutable_mime_tree());
  out->set_text_body(parsed.text_body);
  out->set_text_body_part_id(parsed.text_body_part_id);
  out->set_html_body(parsed.html_body);
  out->set_html_body_part_id(parsed.html_body_part_id);
  for (const smtp::MimeAttachment& attachment : parsed.attachments) {
    v1::Attachment* added = out->add_attachments();
    added->set_part_id(attachment.part_id);
    added->set_filename(attachment.filename);
    added->set_content_type(attachment.content_type);
    added->set_size_bytes(attachment.size_bytes);
    added->set_content_id(attachment.content_id);
    added->set_disposition(ToProto(attachment.disposition));
  }
  // The proto promises has_attachments == !attachments.empty() for a full Message.
  out->set_has_attachments(!parsed.attachments.empty());
  if (record.tls.has_value()) {
    v1::TlsInfo* tls = out->mutable_tls();
    tls->set_protocol(record.tls->protocol);
    tls->set_cipher(record.tls->cipher);
    tls->set_implicit(record.tls->implicit);
  }
  out->set_auth_mechanism(record.auth_mechanism);
  out->set_client_address(record.client_address);
  out->set_ehlo_name(record.ehlo_name);
  // Stored by the capture path (server/routing/decision_json.h); a value that does not
  // parse (it cannot, short of a manual edit) shows as no decision rather than an error.
  if (!record.routing.empty()) {
    absl::StatusOr<std::vector<v1::RoutingDecision>> decisions =
        routing::DecisionsFromJson(record.routing);
    if (decisions.ok()) {
      for (v1::RoutingDecision& decision : *decisions) {
        *out->add_routing() = std::move(decision);
      }
    }
  }
  for (const smtp::MimeProblem& problem : parsed.problems) {
    v1::ParseProblem* added = out->add_parse_problems();
    added->set_part_id(problem.part_id);
    added->set_description(problem.description);
  }
}

void ToMimePartProto(const smtp::MimeNode& node, bool with_children, v1::MimePart* out) {
  out->set_part_id(node.part_id);
  out->set_content_type(node.content_type);
  out->set_charset(node.charset);
  out->set_transfer_encoding(node.transfer_encoding);
  out->set_disposition(ToProto(node.disposition));
  out->set_filename(node.filename);
  out->set_content_id(node.content_id);
  out->set_size_bytes(node.size_bytes);
  AddHeaders(node.headers, out->mutable_headers());
  if (!with_children) return;
  for (const smtp::MimeNode& child : node.parts) {
    ToMimePartProto(child, /*with_children=*/true, out->add_parts());
  }
}

}  // namespace mailroom::server
