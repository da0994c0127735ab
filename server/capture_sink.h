// CaptureSink: where the SMTP engine's received messages go (smtp::MessageSink).
//
// For each message: summarise its headers (smtp/mime_summary.h), route it
// (server/routing/routing_table.h, the table of the RoutingCache) into its mailboxes with the
// decisions recorded on the message (messages.routing), and submit it to the group-commit
// writer. The engine's `250` waits for the writer's commit; any failure becomes its
// `451 4.3.0`. The routing decisions go back to the engine as transcript lines.
//
// A mailbox deleted between the routing snapshot and the commit fails the insert on its
// foreign key (FailedPrecondition, the message alone): the message is then submitted again
// filed in `default`, with decisions that say why, and the cache is told to reload. Mail is
// never lost to a routing change.
//
// Thread-safety: thread-safe. Deliver() runs on SMTP I/O threads; it does CPU work only (the
// header summary, routing) and never waits for the database.
#ifndef MAILROOM_SERVER_CAPTURE_SINK_H_
#define MAILROOM_SERVER_CAPTURE_SINK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "prometheus/counter.h"
#include "server/config/settings.h"
#include "server/metrics.h"
#include "server/routing/routing_cache.h"
#include "server/routing/routing_table.h"
#include "smtp/message_sink.h"
#include "storage/ingest_rows.h"
#include "storage/ingest_writer.h"

namespace mailroom::server {

// What storage needs of a message, filled from what the engine received and routed with
// `table`. Exposed for tests. `implicit_tls_listeners` names the listeners that speak TLS
// from the first byte. When `transcript_lines` is not null, it receives one line per
// routing decision ("recipient a@qa.example.com routed to `qa` by rule 2: ...").
// kDefaultAfterMissingMailbox files the message in `default` only, each decision that chose
// another mailbox rewritten to say that a routed-to mailbox was deleted meanwhile.
enum class Filing { kRouted, kDefaultAfterMissingMailbox };
storage::NewMessage ToNewMessage(std::shared_ptr<const smtp::ReceivedMessage> message,
                                 const absl::flat_hash_set<std::string>& implicit_tls_listeners,
                                 const routing::RoutingTable& table,
                                 std::vector<std::string>* transcript_lines = nullptr,
                                 Filing filing = Filing::kRouted);

class CaptureSink final : public smtp::MessageSink {
 public:
  // REQUIRES: `writer`, `metrics` and `routing` outlive the sink. A null `routing` files
  // everything in `default`.
  CaptureSink(storage::IngestWriter* writer, const config::SmtpConfig& smtp, Metrics* metrics,
              routing::RoutingCache* routing = nullptr);

  void Deliver(std::shared_ptr<const smtp::ReceivedMessage> message, Done done) override;

 private:
  std::shared_ptr<const routing::RoutingTable> CurrentTable() const;
  // Submits `message` again, filed in `default` (Filing::kDefaultAfterMissingMailbox).
  void Refile(std::shared_ptr<const smtp::ReceivedMessage> message,
              const routing::RoutingTable& table, Done done);

  storage::IngestWriter* const writer_;
  routing::RoutingCache* const routing_;
  const std::shared_ptr<const routing::RoutingTable> default_only_;
  const absl::flat_hash_set<std::string> implicit_tls_listeners_;
  prometheus::Counter& stored_;
  prometheus::Counter& failed_;
};

// The listeners of `smtp` that use implicit TLS, by name.
absl::flat_hash_set<std::string> ImplicitTlsListeners(const config::SmtpConfig& smtp);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_CAPTURE_SINK_H_
