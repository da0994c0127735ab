// Mailroom: the running service. Owns every long-lived part of the process, starts them in
// dependency order and stops them in reverse:
//
//   metrics → TLS certificate → PostgreSQL pool → gRPC server (health NOT_SERVING) →
//   database supervisor (migrations with backoff) → retention job → ingest writer →
//   SMTP listeners → ready
//
// SMTP listeners open only once the schema is current, so that no client is greeted while
// its mail could not be stored; a stop closes them first, so that every session is
// recorded and every acknowledged message committed before the writer drains.
// The gRPC server starts before the database is reachable so that probes can tell "not
// ready" from "dead"; the database comes up in a background thread so that a shutdown
// signal is honoured at any moment.
//
// Thread-safety: Start() and Run() are called from main's thread only.
#ifndef MAILROOM_SERVER_MAILROOM_H_
#define MAILROOM_SERVER_MAILROOM_H_

#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "server/api_services.h"
#include "server/capture_sink.h"
#include "server/config/settings.h"
#include "server/database_supervisor.h"
#include "server/grpc_server.h"
#include "server/ingest_metrics.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/retention_job.h"
#include "server/routing/routing_cache.h"
#include "server/session_log.h"
#include "server/user_authenticator.h"
#include "smtp/server.h"
#include "smtp/tls_context.h"
#include "storage/ingest_writer.h"
#include "storage/pool.h"

namespace mailroom::server {

class Mailroom {
 public:
  // Starts everything that does not need the database. Errors name the part that failed
  // (an address in use, an unreadable certificate).
  // REQUIRES: BlockProcessSignals() has run; `logger` outlives the Mailroom.
  static absl::StatusOr<std::unique_ptr<Mailroom>> Start(const config::Config& config,
                                                         Logger* logger);
  ~Mailroom();

  // Serves until SIGTERM or SIGINT, then stops gracefully within the configured grace
  // period. SIGHUP reloads TLS certificates. Returns false when the process stopped because
  // the background start-up failed (the database could not be used, the declared users and
  // mailboxes could not be applied, SMTP could not start), true after a requested stop.
  bool Run();

 private:
  Mailroom(const config::Config& config, Logger* logger);

  // The background start-up: migrations (retried while the database is away), then the
  // periodic health checks and the SMTP side.
  void BringUpDatabase();
  absl::Status StartSmtp();
  void ReloadCertificates();
  void Stop();

  const config::Config config_;
  Logger* const logger_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<smtp::TlsContextProvider> tls_;
  std::unique_ptr<storage::ConnectionPool> pool_;
  // The routing table of the capture path, reloaded in the background; made with the pool
  // (so the services can Invalidate() it), polling from StartSmtp(), destroyed after every
  // user.
  std::unique_ptr<routing::RoutingCache> routing_;
  std::unique_ptr<ApiServices> api_;
  RunningGrpcServer grpc_;
  std::unique_ptr<DatabaseSupervisor> database_;
  // Made with the pool; destroyed after smtp_ (declared before it), which calls it.
  std::unique_ptr<UserAuthenticator> authenticator_;
  // Created by the start-up thread once the schema is current; read by Stop() after it has
  // joined that thread.
  // Shared with ingest_metrics_, which a scrape may be reading while Mailroom goes.
  std::shared_ptr<storage::IngestWriter> ingest_;
  std::shared_ptr<IngestMetrics> ingest_metrics_;
  std::unique_ptr<CaptureSink> capture_;
  std::unique_ptr<SessionLog> session_log_;
  std::unique_ptr<smtp::Server> smtp_;
  // Created by the start-up thread once the schema is current, like ingest_.
  std::unique_ptr<RetentionJob> retention_;
  std::thread startup_;
  std::atomic<bool> startup_failed_ = false;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_MAILROOM_H_
