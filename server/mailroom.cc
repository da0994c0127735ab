#include "server/mailroom.h"

#include <signal.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/build_info.h"
#include "server/declared_objects.h"
#include "server/process_signals.h"
#include "server/smtp_options.h"

namespace mailroom::server {

Mailroom::Mailroom(const config::Config& config, Logger* logger)
    : config_(config), logger_(logger) {}

Mailroom::~Mailroom() {
  if (startup_.joinable()) startup_.join();
}

absl::StatusOr<std::unique_ptr<Mailroom>> Mailroom::Start(const config::Config& config,
                                                          Logger* logger) {
  logger->Info("mailroom starting", {{"version", kVersion}, {"commit", kCommit}});
  std::unique_ptr<Mailroom> mailroom(new Mailroom(config, logger));

  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Start(config.metrics.address);
  if (!metrics.ok()) return metrics.status();
  mailroom->metrics_ = std::move(*metrics);

  // A broken certificate is a configuration error: say so now, not when mail arrives.
  absl::StatusOr<std::unique_ptr<smtp::TlsContextProvider>> tls =
      smtp::TlsContextProvider::Create(SmtpTlsOptions(config.smtp));
  if (!tls.ok()) return tls.status();
  mailroom->tls_ = std::move(*tls);
  if (mailroom->tls_->self_signed()) {
    logger->Info("SMTP TLS uses a self-signed certificate",
                 {{"hostname", config.smtp.hostname},
                  {"sha256_fingerprint", mailroom->tls_->fingerprint_sha256()}});
  }

  // Connections open lazily: this fails only for settings the pool cannot use.
  absl::StatusOr<std::unique_ptr<storage::ConnectionPool>> pool =
      storage::ConnectionPool::Create(storage::PoolOptions{
          .url = config.database.url,
          .size = config.database.pool_size,
          .connect_timeout = config.database.connect_timeout,
      });
  if (!pool.ok()) return pool.status();
  mailroom->pool_ = std::move(*pool);
  mailroom->routing_ = std::make_unique<routing::RoutingCache>(
      mailroom->pool_.get(),
      routing::RoutingCacheOptions{
          .policy = {.deliver_to_user_mailbox = config.smtp.auth.deliver_to_user_mailbox}},
      logger);
  mailroom->authenticator_ = std::make_unique<UserAuthenticator>(
      mailroom->pool_.get(), config.smtp.auth.allow_any_credentials);

  absl::StatusOr<std::unique_ptr<ApiServices>> api = ApiServices::Create(
      mailroom->pool_.get(),
      storage::ConnectionString(storage::PoolOptions{
          .url = config.database.url, .connect_timeout = config.database.connect_timeout}),
      config.api.max_send_message_size,
      [routing = mailroom->routing_.get()] { routing->Invalidate(); });
  if (!api.ok()) return api.status();
  mailroom->api_ = std::move(*api);

  absl::StatusOr<RunningGrpcServer> grpc =
      StartGrpcServer(config.api, mailroom->api_->services(), mailroom->metrics_.get());
  if (!grpc.ok()) return grpc.status();
  mailroom->grpc_ = std::move(*grpc);
  logger->Info("gRPC API listening", {{"address", config.api.address},
                                      {"reflection", config.api.reflection ? "on" : "off"}});
  LogApiAccess(config.api, mailroom->grpc_, logger);
  if (!config.metrics.address.empty()) {
    logger->Info("metrics listening", {{"address", config.metrics.address}});
  }

  Mailroom* self = mailroom.get();
  mailroom->database_ = std::make_unique<DatabaseSupervisor>(
      self->pool_.get(), config.database, logger, [self](bool healthy) {
        SetServing(*self->grpc_.server, healthy);
        self->metrics_->SetDatabaseUp(healthy);
      });
  mailroom->startup_ = std::thread([self] { self->BringUpDatabase(); });
  return mailroom;
}

void Mailroom::BringUpDatabase() {
  const absl::Status migrated = database_->WaitUntilMigrated();
  if (absl::IsCancelled(migrated)) return;
  if (!migrated.ok()) {
    logger_->Error("cannot use the database; stopping",
                   {{"error", std::string(migrated.message())}});
    startup_failed_ = true;
    kill(getpid(), SIGTERM);  // Run() takes it and stops the process in order.
    return;
  }
  database_->StartHealthChecks();
  // Declared users and mailboxes are in place before the first client is greeted.
  absl::StatusOr<DeclaredOutcome> declared = ApplyDeclaredObjects(*pool_, config_);
  if (!declared.ok()) {
    logger_->Error("cannot apply the users and mailboxes of the configuration; stopping",
                   {{"error", std::string(declared.status().message())}});
    startup_failed_ = true;
    kill(getpid(), SIGTERM);
    return;
  }
  if (!config_.mailboxes.empty() || !config_.users.empty()) {
    logger_->Info("configured users and mailboxes applied",
                  {{"created", absl::StrCat(declared->created)},
                   {"updated", absl::StrCat(declared->updated)},
                   {"unchanged", absl::StrCat(declared->unchanged)}});
  }
  // Always on, whatever the limits: a mailbox can be given max_messages at any time.
  retention_ =
      std::make_unique<RetentionJob>(pool_.get(), config_.retention, logger_, metrics_.get());
  if (const absl::Status smtp = StartSmtp(); !smtp.ok()) {
    logger_->Error("cannot start SMTP; stopping", {{"error", std::string(smtp.message())}});
    startup_failed_ = true;
    kill(getpid(), SIGTERM);
    return;
  }
  logger_->Info("mailroom ready");
}

absl::Status Mailroom::StartSmtp() {
  absl::StatusOr<std::unique_ptr<storage::IngestWriter>> ingest =
      storage::IngestWriter::Start(storage::IngestOptions{
          .url = config_.database.url,
          .connect_timeout = config_.database.connect_timeout,
          .writers = config_.database.ingest_writers,
          .max_batch_messages = config_.database.ingest_max_batch,
      });
  if (!ingest.ok()) return ingest.status();
  ingest_ = std::move(*ingest);
  ingest_metrics_ = std::make_shared<IngestMetrics>(ingest_);
  metrics_->Expose(ingest_metrics_);
  // The rules are loaded before the first client is greeted (a failure is logged and
  // retried by the poller; meanwhile mail goes to `default`).
  (void)routing_->Reload();
  routing_->Start();
  capture_ =
      std::make_unique<CaptureSink>(ingest_.get(), config_.smtp, metrics_.get(), routing_.get());
  session_log_ = std::make_unique<SessionLog>(ingest_.get(), config_.smtp, metrics_.get(), logger_);

  absl::StatusOr<std::unique_ptr<smtp::Server>> smtp =
      smtp::Server::Start(SmtpServerOptions(config_.smtp), tls_.get(), capture_.get(),
                          session_log_.get(), authenticator_.get(), logger_);
  if (!smtp.ok()) return smtp.status();
  smtp_ = std::move(*smtp);
  return absl::OkStatus();
}

void Mailroom::ReloadCertificates() {
  ReloadApiCertificates(grpc_, logger_);
  const absl::Status reloaded = tls_->Reload();
  if (!reloaded.ok()) {
    logger_->Error("SIGHUP: TLS certificate not reloaded; the previous one stays in use",
                   {{"error", std::string(reloaded.message())}});
    return;
  }
  logger_->Info("SIGHUP: TLS certificate reloaded",
                {{"sha256_fingerprint", tls_->fingerprint_sha256()}});
}

bool Mailroom::Run() {
  for (;;) {
    const int signal = WaitForSignal();
    if (signal != SIGHUP) {
      logger_->Info("shutting down",
                    {{"signal", absl::StrCat(signal)},
                     {"grace_period", absl::FormatDuration(config_.api.shutdown_grace_period)}});
      break;
    }
    ReloadCertificates();
  }
  Stop();
  return !startup_failed_;
}

void Mailroom::Stop() {
  database_->Stop();
  if (startup_.joinable()) startup_.join();
  // Pruning is not needed while stopping; a pass in progress ends after its batch.
  if (retention_ != nullptr) retention_->Stop();
  SetServing(*grpc_.server, false);
  // SMTP first: sessions end with 421 (deliveries in flight are answered first) and are
  // recorded; then the writer commits everything queued.
  if (smtp_ != nullptr) smtp_->Shutdown(config_.api.shutdown_grace_period);
  if (ingest_ != nullptr) ingest_->Stop();
  routing_->Stop();
  // Watch streams never end on their own: end them now rather than after the grace period.
  api_->EndStreams();
  // In-flight calls may finish within the grace period; then they are cancelled.
  grpc_.server->Shutdown(absl::ToChronoTime(absl::Now() + config_.api.shutdown_grace_period));
  grpc_.server->Wait();
  logger_->Info("mailroom stopped");
}

}  // namespace mailroom::server
