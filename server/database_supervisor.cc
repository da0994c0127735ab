#include "server/database_supervisor.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "storage/migrations.h"

namespace mailroom::server {

DatabaseSupervisor::DatabaseSupervisor(storage::ConnectionPool* pool,
                                       const config::DatabaseConfig& config, Logger* logger,
                                       HealthCallback on_health_change)
    : pool_(pool),
      config_(config),
      logger_(logger),
      on_health_change_(std::move(on_health_change)) {}

DatabaseSupervisor::~DatabaseSupervisor() {
  Stop();
  if (health_thread_.joinable()) health_thread_.join();
}

void DatabaseSupervisor::Stop() {
  absl::MutexLock lock(&mutex_);
  stopping_ = true;
}

bool DatabaseSupervisor::SleepUnlessStopped(absl::Duration duration) {
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&stopping_), duration);
  return !stopping_;
}

absl::Status DatabaseSupervisor::WaitUntilMigrated() {
  absl::Duration backoff = config_.retry_initial_backoff;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<int> applied = storage::Migrate(*pool_);
    if (applied.ok()) {
      logger_->Info("database schema is current",
                    {{"migrations_applied", absl::StrCat(*applied)},
                     {"schema_version", absl::StrCat(storage::LatestSchemaVersion())}});
      return absl::OkStatus();
    }
    // Waiting cannot fix a database that a newer Mailroom has already migrated.
    if (absl::IsFailedPrecondition(applied.status())) return applied.status();
    logger_->Warn("database not ready, retrying",
                  {{"attempt", absl::StrCat(attempt)},
                   {"retry_in", absl::FormatDuration(backoff)},
                   {"error", std::string(applied.status().message())}});
    if (!SleepUnlessStopped(backoff)) {
      return absl::CancelledError("stopped while waiting for the database");
    }
    backoff = std::min(backoff * 2, config_.retry_max_backoff);
  }
}

void DatabaseSupervisor::StartHealthChecks() {
  health_thread_ = std::thread([this] { HealthCheckLoop(); });
}

void DatabaseSupervisor::HealthCheckLoop() {
  std::optional<bool> last;
  do {
    const absl::Status ping = pool_->Ping();
    const bool healthy = ping.ok();
    if (last != healthy) {
      if (healthy) {
        logger_->Info("database is answering");
      } else {
        logger_->Error("database is not answering", {{"error", std::string(ping.message())}});
      }
      on_health_change_(healthy);
      last = healthy;
    }
  } while (SleepUnlessStopped(config_.health_check_interval));
}

}  // namespace mailroom::server
