#include "server/capture_sink.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "smtp/mime_summary.h"
#include "storage/schema.h"

namespace mailroom::server {
namespace {

std::optional<std::string> UnlessEmpty(std::string value) {
  if (value.empty()) return std::nullopt;
  return value;
}

// The MAIL FROM parameters the engine understood, in RFC order (the engine keeps their
// values, not the order the client wrote them in).
std::vector<storage::SmtpParameter> MailParameters(const smtp::Envelope& envelope) {
  std::vector<storage::SmtpParameter> parameters;
  if (envelope.declared_size.has_value()) {
    parameters.push_back({"SIZE", absl::StrCat(*envelope.declared_size)});
  }
  if (!envelope.body.empty()) parameters.push_back({"BODY", envelope.body});
  if (envelope.smtputf8) parameters.push_back({"SMTPUTF8", ""});
  if (!envelope.dsn_ret.empty()) parameters.push_back({"RET", envelope.dsn_ret});
  if (!envelope.dsn_envid.empty()) parameters.push_back({"ENVID", envelope.dsn_envid});
  return parameters;
}

std::vector<storage::SmtpParameter> RecipientParameters(const smtp::Recipient& recipient) {
  std::vector<storage::SmtpParameter> parameters;
  if (!recipient.dsn_notify.empty()) parameters.push_back({"NOTIFY", recipient.dsn_notify});
  if (!recipient.dsn_orcpt.empty()) parameters.push_back({"ORCPT", recipient.dsn_orcpt});
  return parameters;
}

}  // namespace

absl::flat_hash_set<std::string> ImplicitTlsListeners(const config::SmtpConfig& smtp) {
  absl::flat_hash_set<std::string> names;
  for (const config::ListenerConfig& listener : smtp.listeners) {
    if (listener.tls == config::ListenerTls::kImplicit) names.insert(listener.name);
  }
  return names;
}

storage::NewMessage ToNewMessage(std::shared_ptr<const smtp::ReceivedMessage> message,
                                 const absl::flat_hash_set<std::string>& implicit_tls_listeners) {
  const smtp::SessionInfo& session = message->session;
  const smtp::Envelope& envelope = message->envelope;
  smtp::MessageSummary summary = smtp::SummarizeMessage(message->raw);

  storage::NewMessage row;
  row.id = message->id;
  row.received_at = message->received_at;
  row.session_id = session.id;
  row.client_address = session.client_address;
  row.ehlo_name = session.ehlo_name;
  if (!session.tls_protocol.empty()) {
    row.tls = storage::TlsFacts{.protocol = session.tls_protocol,
                                .cipher = session.tls_cipher,
                                .implicit = implicit_tls_listeners.contains(session.listener)};
  }
  row.auth_user = session.auth_user;
  row.auth_mechanism = session.auth_mechanism;
  row.envelope_from = envelope.mail_from;
  row.mail_parameters = MailParameters(envelope);
  row.dsn_ret = envelope.dsn_ret;
  row.dsn_envid = envelope.dsn_envid;
  for (const smtp::Recipient& recipient : envelope.recipients) {
    row.recipients.push_back({.address = recipient.address,
                              .dsn_notify = recipient.dsn_notify,
                              .dsn_orcpt = recipient.dsn_orcpt,
                              .parameters = RecipientParameters(recipient)});
  }
  row.from_header = UnlessEmpty(std::move(summary.from));
  row.to_header = UnlessEmpty(std::move(summary.to));
  row.cc_header = UnlessEmpty(std::move(summary.cc));
  row.subject = UnlessEmpty(std::move(summary.subject));
  row.date_header = summary.date;
  row.message_id_header = UnlessEmpty(std::move(summary.message_id));
  row.has_attachments = summary.has_attachments;
  row.search_text = std::move(summary.text_body);
  // Routing (the users and mailboxes issue) will choose; until then everything is filed in
  // the default mailbox.
  row.mailbox_ids = {std::string(storage::kDefaultMailboxId)};
  row.raw = message->raw;
  row.raw_owner = std::move(message);
  return row;
}

CaptureSink::CaptureSink(storage::IngestWriter* writer, const config::SmtpConfig& smtp,
                         Metrics* metrics)
    : writer_(writer),
      implicit_tls_listeners_(ImplicitTlsListeners(smtp)),
      stored_(metrics->SmtpMessages("stored")),
      failed_(metrics->SmtpMessages("failed")) {}

void CaptureSink::Deliver(std::shared_ptr<const smtp::ReceivedMessage> message, Done done) {
  writer_->Submit(ToNewMessage(std::move(message), implicit_tls_listeners_),
                  [this, done = std::move(done)](absl::Status status) mutable {
                    (status.ok() ? stored_ : failed_).Increment();
                    std::move(done)(std::move(status));
                  });
}

}  // namespace mailroom::server
