#include "server/capture_sink.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "mailroom/v1/message_service.pb.h"
#include "server/routing/decision_json.h"
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

// Routes the message and records the outcome in `row` (mailbox_ids, routing).
void ApplyRouting(const routing::RoutingTable& table, const smtp::SessionInfo& session,
                  const smtp::Envelope& envelope,
                  std::vector<std::pair<std::string, std::string>> headers, Filing filing,
                  std::vector<std::string>* transcript_lines, storage::NewMessage& row) {
  routing::MessageFacts facts;
  if (!session.auth_user.empty()) facts.auth_user = session.auth_user;
  facts.client_address = session.client_address;
  facts.ehlo_name = session.ehlo_name;
  facts.headers = std::move(headers);
  std::vector<std::string> recipients;
  recipients.reserve(envelope.recipients.size());
  for (const smtp::Recipient& recipient : envelope.recipients) {
    recipients.push_back(recipient.address);
  }
  routing::RouteResult route = table.Route(facts, recipients);

  if (filing == Filing::kDefaultAfterMissingMailbox) {
    route.mailbox_ids = {std::string(storage::kDefaultMailboxId)};
    for (v1::RoutingDecision& decision : route.decisions) {
      if (decision.reason() == v1::RoutingDecision::REASON_FALLBACK) continue;
      // Which of the routed-to mailboxes vanished is not known here: say what is.
      decision.set_explanation(absl::StrCat(
          "routed to `", storage::kDefaultMailboxName, "` instead of `", decision.mailbox(),
          "`: a mailbox the message was routed to was deleted before it was stored"));
      decision.set_mailbox(std::string(storage::kDefaultMailboxName));
      decision.set_reason(v1::RoutingDecision::REASON_FALLBACK);
      decision.set_rule_number(0);
    }
  }
  if (transcript_lines != nullptr) {
    for (const v1::RoutingDecision& decision : route.decisions) {
      transcript_lines->push_back(
          absl::StrCat("recipient ", decision.recipient(), " ", decision.explanation()));
    }
  }
  row.mailbox_ids = std::move(route.mailbox_ids);
  row.routing = routing::DecisionsToJson(route.decisions);
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
                                 const absl::flat_hash_set<std::string>& implicit_tls_listeners,
                                 const routing::RoutingTable& table,
                                 std::vector<std::string>* transcript_lines, Filing filing) {
  const smtp::SessionInfo& session = message->session;
  const smtp::Envelope& envelope = message->envelope;
  // Header values are decoded only when a rule looks at them (capture throughput).
  smtp::MessageSummary summary = table.header_names().empty()
                                     ? smtp::SummarizeMessage(message->raw)
                                     : smtp::SummarizeMessage(message->raw, table.header_names());

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
  ApplyRouting(table, session, envelope, std::move(summary.selected_headers), filing,
               transcript_lines, row);
  row.raw = message->raw;
  row.raw_owner = std::move(message);
  return row;
}

CaptureSink::CaptureSink(storage::IngestWriter* writer, const config::SmtpConfig& smtp,
                         Metrics* metrics, routing::RoutingCache* routing)
    : writer_(writer),
      routing_(routing),
      default_only_(routing::RoutingTable::DefaultOnly(
          routing::RoutingPolicy{.deliver_to_user_mailbox = smtp.auth.deliver_to_user_mailbox})),
      implicit_tls_listeners_(ImplicitTlsListeners(smtp)),
      stored_(metrics->SmtpMessages("stored")),
      failed_(metrics->SmtpMessages("failed")) {}

std::shared_ptr<const routing::RoutingTable> CaptureSink::CurrentTable() const {
  return routing_ != nullptr ? routing_->Current() : default_only_;
}

void CaptureSink::Deliver(std::shared_ptr<const smtp::ReceivedMessage> message, Done done) {
  std::shared_ptr<const routing::RoutingTable> table = CurrentTable();
  std::vector<std::string> lines;
  storage::NewMessage row = ToNewMessage(message, implicit_tls_listeners_, *table, &lines);
  const bool only_default =
      row.mailbox_ids.size() == 1 && row.mailbox_ids[0] == storage::kDefaultMailboxId;
  writer_->Submit(std::move(row), [this, message = std::move(message), table = std::move(table),
                                   lines = std::move(lines), only_default,
                                   done = std::move(done)](absl::Status status) mutable {
    // A routed-to mailbox was deleted after the table was built (the only foreign key a
    // message row can break): file the message in `default` rather than lose it.
    if (absl::IsFailedPrecondition(status) && !only_default) {
      if (routing_ != nullptr) routing_->Invalidate();
      Refile(std::move(message), *table, std::move(done));
      return;
    }
    (status.ok() ? stored_ : failed_).Increment();
    std::move(done)(smtp::DeliveryResult(std::move(status), std::move(lines)));
  });
}

void CaptureSink::Refile(std::shared_ptr<const smtp::ReceivedMessage> message,
                         const routing::RoutingTable& table, Done done) {
  std::vector<std::string> lines;
  storage::NewMessage row = ToNewMessage(std::move(message), implicit_tls_listeners_, table, &lines,
                                         Filing::kDefaultAfterMissingMailbox);
  writer_->Submit(std::move(row), [this, lines = std::move(lines),
                                   done = std::move(done)](absl::Status status) mutable {
    (status.ok() ? stored_ : failed_).Increment();
    std::move(done)(smtp::DeliveryResult(std::move(status), std::move(lines)));
  });
}

}  // namespace mailroom::server
