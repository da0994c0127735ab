// Metrics: the Prometheus registry of the process and its `/metrics` endpoint.
//
// Created once in main; components record through the methods below (or register their
// own families on registry()). The HTTP endpoint runs on its own port (metrics.address)
// so that it can stay open when the API port requires authentication.
//
// Thread-safe.
#ifndef MAILROOM_SERVER_METRICS_H_
#define MAILROOM_SERVER_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace mailroom::server {

class Metrics {
 public:
  // Serves /metrics on `address` ("host:port"); an empty address serves nothing, and the
  // metrics are still counted. Returns Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const std::string& address);

  prometheus::Registry& registry() { return *registry_; }

  // Serves the families of `collectable` on /metrics too, for as long as it lives: for
  // values read from their owner at each scrape (server/ingest_metrics.h).
  void Expose(const std::weak_ptr<prometheus::Collectable>& collectable);

  // One finished gRPC call: `method` is the full path ("/mailroom.v1.MessageService/Get…"),
  // `code` the gRPC status code name ("OK", "NOT_FOUND").
  void CountGrpcRequest(absl::string_view method, absl::string_view code);

  // 1 while the database answers health checks.
  void SetDatabaseUp(bool up);

  // Messages that reached the end of DATA, by `result`: "stored" (answered 250) or "failed"
  // (answered 451). Returned once and kept by the caller, so counting costs no lookup.
  prometheus::Counter& SmtpMessages(absl::string_view result);

  // Finished SMTP sessions by how they ended ("quit", "client_dropped", "timeout", …).
  prometheus::Counter& SmtpSessions(absl::string_view outcome);

  // Rows deleted by the retention job, by `kind`: "message", "session" or "address" (address
  // dictionary entries left without messages).
  prometheus::Counter& RetentionPruned(absl::string_view kind);

 private:
  Metrics();

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>& grpc_requests_;
  prometheus::Family<prometheus::Counter>& smtp_messages_;
  prometheus::Family<prometheus::Counter>& smtp_sessions_;
  prometheus::Family<prometheus::Counter>& retention_pruned_;
  prometheus::Gauge& database_up_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_METRICS_H_
