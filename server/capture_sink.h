// CaptureSink: where the SMTP engine's received messages go (smtp::MessageSink).
//
// For each message: summarise its headers (smtp/mime_summary.h), file it in its mailboxes
// (until routing lands: the `default` mailbox), and submit it to the group-commit writer.
// The engine's `250` waits for the writer's commit; any failure becomes its `451 4.3.0`.
//
// Thread-safety: thread-safe. Deliver() runs on SMTP I/O threads; it does CPU work only (the
// header summary) and never waits for the database.
#ifndef MAILROOM_SERVER_CAPTURE_SINK_H_
#define MAILROOM_SERVER_CAPTURE_SINK_H_

#include <memory>

#include "absl/container/flat_hash_set.h"
#include "prometheus/counter.h"
#include "server/config/settings.h"
#include "server/metrics.h"
#include "smtp/message_sink.h"
#include "storage/ingest_rows.h"
#include "storage/ingest_writer.h"

namespace mailroom::server {

// What storage needs of a message, filled from what the engine received. Exposed for tests.
// `implicit_tls_listeners` names the listeners that speak TLS from the first byte.
storage::NewMessage ToNewMessage(std::shared_ptr<const smtp::ReceivedMessage> message,
                                 const absl::flat_hash_set<std::string>& implicit_tls_listeners);

class CaptureSink final : public smtp::MessageSink {
 public:
  // REQUIRES: `writer` and `metrics` outlive the sink.
  CaptureSink(storage::IngestWriter* writer, const config::SmtpConfig& smtp, Metrics* metrics);

  void Deliver(std::shared_ptr<const smtp::ReceivedMessage> message, Done done) override;

 private:
  storage::IngestWriter* const writer_;
  const absl::flat_hash_set<std::string> implicit_tls_listeners_;
  prometheus::Counter& stored_;
  prometheus::Counter& failed_;
};

// The listeners of `smtp` that use implicit TLS, by name.
absl::flat_hash_set<std::string> ImplicitTlsListeners(const config::SmtpConfig& smtp);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_CAPTURE_SINK_H_
