#include "server/retention_job.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mailroom::server {

RetentionJob::RetentionJob(storage::ConnectionPool* pool, const config::RetentionConfig& config,
                           Logger* logger, Metrics* metrics)
    : pool_(pool),
      config_(config),
      limits_{.max_messages = config.max_messages,
              .max_message_age = config.max_message_age,
              .max_sessions = config.max_sessions,
              .max_session_age = config.max_session_age,
              .batch_size = config.batch_size},
      logger_(logger),
      pruned_messages_(metrics->RetentionPruned("message")),
      pruned_sessions_(metrics->RetentionPruned("session")),
      pruned_addresses_(metrics->RetentionPruned("address")) {
  thread_ = std::thread([this] { Loop(); });
}

RetentionJob::~RetentionJob() { Stop(); }

void RetentionJob::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool RetentionJob::Stopping() {
  absl::MutexLock lock(&mutex_);
  return stopping_;
}

bool RetentionJob::SleepUnlessStopped(absl::Duration duration) {
  absl::MutexLock lock(&mutex_);
  mutex_.AwaitWithTimeout(absl::Condition(&stopping_), duration);
  return !stopping_;
}

void RetentionJob::Loop() {
  absl::Time last_exact = absl::InfinitePast();
  do {
    const absl::Time start = absl::Now();
    if (RunPass(/*trust_estimates=*/start - last_exact < kExactCheckEvery)) last_exact = start;
  } while (SleepUnlessStopped(config_.interval));
}

bool RetentionJob::RunPass(bool trust_estimates) {
  storage::PruneResult result;
  const absl::Status status = storage::PruneOnce(
      *pool_, limits_, {.trust_estimates = trust_estimates, .stop = [this] { return Stopping(); }},
      &result);
  // Counted whatever happened after: committed batches stay deleted.
  pruned_messages_.Increment(static_cast<double>(result.messages()));
  pruned_sessions_.Increment(static_cast<double>(result.sessions()));
  pruned_addresses_.Increment(static_cast<double>(result.addresses));
  if (result.messages() > 0 || result.sessions() > 0 || result.mailbox_links > 0 ||
      result.addresses > 0) {
    logger_->Info("retention pruned",
                  {{"messages", absl::StrCat(result.messages())},
                   {"messages_over_mailbox_limit", absl::StrCat(result.messages_mailbox_limit)},
                   {"mailbox_links", absl::StrCat(result.mailbox_links)},
                   {"messages_over_max_messages", absl::StrCat(result.messages_total_limit)},
                   {"messages_over_max_age", absl::StrCat(result.messages_age_limit)},
                   {"sessions", absl::StrCat(result.sessions())},
                   {"sessions_over_max_sessions", absl::StrCat(result.sessions_total_limit)},
                   {"sessions_over_max_age", absl::StrCat(result.sessions_age_limit)},
                   {"addresses_unlinked", absl::StrCat(result.addresses)}});
  }
  if (!status.ok()) {
    logger_->Warn("retention pass failed; retrying at the next interval",
                  {{"error", std::string(status.message())},
                   {"retry_in", absl::FormatDuration(config_.interval)}});
    return false;
  }
  if (result.skipped) {
    logger_->Debug("retention pass skipped: another replica is pruning");
    return false;
  }
  return !trust_estimates && !result.interrupted;
}

}  // namespace mailroom::server
