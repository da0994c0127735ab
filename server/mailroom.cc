#include "server/mailroom.h"

#include <signal.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/build_info.h"
#include "server/process_signals.h"

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

  // Connections open lazily: this fails only for settings the pool cannot use.
  absl::StatusOr<std::unique_ptr<storage::ConnectionPool>> pool =
      storage::ConnectionPool::Create(storage::PoolOptions{
          .url = config.database.url,
          .size = config.database.pool_size,
          .connect_timeout = config.database.connect_timeout,
      });
  if (!pool.ok()) return pool.status();
  mailroom->pool_ = std::move(*pool);

  absl::StatusOr<std::unique_ptr<ApiServices>> api = ApiServices::Create();
  if (!api.ok()) return api.status();
  mailroom->api_ = std::move(*api);

  absl::StatusOr<RunningGrpcServer> grpc =
      StartGrpcServer(config.api, mailroom->api_->services(), mailroom->metrics_.get());
  if (!grpc.ok()) return grpc.status();
  mailroom->grpc_ = std::move(*grpc);
  logger->Info("gRPC API listening", {{"address", config.api.address},
                                      {"reflection", config.api.reflection ? "on" : "off"}});
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
    kill(getpid(), SIGTERM);  // Run() takes it and stops the process in order.
    return;
  }
  database_->StartHealthChecks();
  logger_->Info("mailroom ready");
}

void Mailroom::Run() {
  for (;;) {
    const int signal = WaitForSignal();
    if (signal != SIGHUP) {
      logger_->Info("shutting down",
                    {{"signal", absl::StrCat(signal)},
                     {"grace_period", absl::FormatDuration(config_.api.shutdown_grace_period)}});
      break;
    }
    logger_->Info("SIGHUP: nothing to reload");
  }
  Stop();
}

void Mailroom::Stop() {
  database_->Stop();
  if (startup_.joinable()) startup_.join();
  SetServing(*grpc_.server, false);
  // In-flight calls may finish within the grace period; then they are cancelled.
  grpc_.server->Shutdown(absl::ToChronoTime(absl::Now() + config_.api.shutdown_grace_period));
  grpc_.server->Wait();
  logger_->Info("mailroom stopped");
}

}  // namespace mailroom::server
