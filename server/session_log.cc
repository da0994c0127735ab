#include "server/session_log.h"

#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "server/capture_sink.h"

namespace mailroom::server {
namespace {

absl::string_view OutcomeName(smtp::SessionOutcome outcome) {
  switch (outcome) {
    case smtp::SessionOutcome::kQuit:
      return storage::kOutcomeQuit;
    case smtp::SessionOutcome::kClientDropped:
      return storage::kOutcomeClientDropped;
    case smtp::SessionOutcome::kTimeout:
      return storage::kOutcomeTimeout;
    case smtp::SessionOutcome::kError:
      return storage::kOutcomeError;
    case smtp::SessionOutcome::kServerShutdown:
      return storage::kOutcomeShutdown;
  }
  return storage::kOutcomeError;
}

// Replies that refused something (4xx and 5xx), for the sessions "has errors" filter.
bool IsErrorReply(const smtp::TranscriptLine& line) {
  return line.direction == smtp::TranscriptLine::Direction::kServer && !line.text.empty() &&
         (line.text[0] == '4' || line.text[0] == '5');
}

}  // namespace

storage::NewSession ToNewSession(smtp::SessionRecord record,
                                 const absl::flat_hash_set<std::string>& implicit_tls_listeners) {
  smtp::SessionInfo& info = record.info;
  storage::NewSession row;
  row.id = std::move(info.id);
  row.client_address = std::move(info.client_address);
  row.client_port = info.client_port;
  row.server_address = std::move(info.server_address);
  row.ehlo_name = std::move(info.ehlo_name);
  if (!info.tls_protocol.empty()) {
    row.tls = storage::TlsFacts{.protocol = std::move(info.tls_protocol),
                                .cipher = std::move(info.tls_cipher),
                                .implicit = implicit_tls_listeners.contains(info.listener)};
  }
  row.listener = std::move(info.listener);
  row.auth_user = std::move(info.auth_user);
  row.auth_mechanism = std::move(info.auth_mechanism);
  row.started_at = info.started_at;
  row.ended_at = record.ended_at;
  row.message_count = record.message_count;
  row.outcome = std::string(OutcomeName(record.outcome));
  row.error = std::move(record.error);
  row.transcript.reserve(record.transcript.size());
  for (smtp::TranscriptLine& line : record.transcript) {
    if (IsErrorReply(line)) ++row.error_reply_count;
    row.transcript.push_back(
        {.offset = line.offset,
         .direction = static_cast<storage::TranscriptRow::Direction>(line.direction),
         .text = std::move(line.text)});
  }
  return row;
}

SessionLog::SessionLog(storage::IngestWriter* writer, const config::SmtpConfig& smtp,
                       Metrics* metrics, Logger* logger)
    : writer_(writer),
      implicit_tls_listeners_(ImplicitTlsListeners(smtp)),
      metrics_(metrics),
      logger_(logger) {}

void SessionLog::Record(smtp::SessionRecord record) {
  const smtp::SessionOutcome outcome = record.outcome;
  storage::NewSession row = ToNewSession(std::move(record), implicit_tls_listeners_);
  const std::string id = row.id;
  metrics_->SmtpSessions(OutcomeName(outcome)).Increment();
  const absl::Status queued = writer_->Submit(std::move(row));
  if (!queued.ok()) {
    logger_->Warn("SMTP session not recorded",
                  {{"session", id}, {"error", std::string(queued.message())}});
  }
}

}  // namespace mailroom::server
