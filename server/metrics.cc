#include "server/metrics.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "server/build_info.h"

namespace mailroom::server {

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      grpc_requests_(prometheus::BuildCounter()
                         .Name("mailroom_grpc_requests_total")
                         .Help("Finished gRPC calls by method and status code.")
                         .Register(*registry_)),
      smtp_messages_(
          prometheus::BuildCounter()
              .Name("mailroom_smtp_messages_total")
              .Help("Messages received over SMTP by result: stored (250) or failed (451).")
              .Register(*registry_)),
      smtp_sessions_(prometheus::BuildCounter()
                         .Name("mailroom_smtp_sessions_total")
                         .Help("Finished SMTP sessions by outcome.")
                         .Register(*registry_)),
      retention_pruned_(prometheus::BuildCounter()
                            .Name("mailroom_retention_pruned_total")
                            .Help("Messages and sessions deleted by the retention job, by kind.")
                            .Register(*registry_)),
      database_up_(prometheus::BuildGauge()
                       .Name("mailroom_database_up")
                       .Help("1 while PostgreSQL answers the health check, else 0.")
                       .Register(*registry_)
                       .Add({})) {
  prometheus::BuildGauge()
      .Name("mailroom_build_info")
      .Help("Always 1; the labels name the running build.")
      .Register(*registry_)
      .Add({{"version", kVersion}, {"commit", kCommit}})
      .Set(1);
}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const std::string& address) {
  std::unique_ptr<Metrics> metrics(new Metrics());
  if (address.empty()) return metrics;
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    // civetweb reports a port in use or a bad address by throwing.
    return absl::UnavailableError(
        absl::StrCat("metrics endpoint cannot listen on ", address, ": ", e.what()));
  }
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  return metrics;
}

void Metrics::CountGrpcRequest(absl::string_view method, absl::string_view code) {
  grpc_requests_.Add({{"method", std::string(method)}, {"code", std::string(code)}}).Increment();
}

void Metrics::Expose(const std::weak_ptr<prometheus::Collectable>& collectable) {
  // Without an endpoint nothing is served, and nothing needs to be read.
  if (exposer_ != nullptr) exposer_->RegisterCollectable(collectable);
}

void Metrics::SetDatabaseUp(bool up) { database_up_.Set(up ? 1 : 0); }

prometheus::Counter& Metrics::SmtpMessages(absl::string_view result) {
  return smtp_messages_.Add({{"result", std::string(result)}});
}

prometheus::Counter& Metrics::SmtpSessions(absl::string_view outcome) {
  return smtp_sessions_.Add({{"outcome", std::string(outcome)}});
}

prometheus::Counter& Metrics::RetentionPruned(absl::string_view kind) {
  return retention_pruned_.Add({{"kind", std::string(kind)}});
}

}  // namespace mailroom::server
