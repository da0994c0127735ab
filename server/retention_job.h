// RetentionJob: runs the retention pruning pass (storage/retention.h) every
// retention.interval on a thread of its own, on every replica; the pass's advisory lock makes
// one replica at a time do the work.
//
// It always runs, even when every configured limit is 0: mailboxes can get a max_messages at
// any time through the API. Database errors are normal (PostgreSQL restarting): they are
// logged at warn and the next interval tries again. What a pass deleted is logged at info
// (counts only) and counted in mailroom_retention_pruned_total{kind="message"|"session"}.
// Statistics shortcuts are re-checked exactly every few minutes (kExactCheckEvery), so that
// stale statistics cannot hide an excess for long.
//
// Thread-safety: Stop() may be called from any thread; it wakes the sleeping thread at once
// and a running pass ends after its current batch.
#ifndef MAILROOM_SERVER_RETENTION_JOB_H_
#define MAILROOM_SERVER_RETENTION_JOB_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "server/config/settings.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "storage/pool.h"
#include "storage/retention.h"

namespace mailroom::server {

// How often a pass ignores the statistics and checks every count limit exactly.
inline constexpr absl::Duration kExactCheckEvery = absl::Minutes(5);

class RetentionJob {
 public:
  // Starts the thread; the first pass runs at once.
  // REQUIRES: `pool`, `logger` and `metrics` outlive the job; config.interval > 0.
  RetentionJob(storage::ConnectionPool* pool, const config::RetentionConfig& config, Logger* logger,
               Metrics* metrics);
  ~RetentionJob();  // Stop()s and joins the thread.

  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // Asks the thread to end and returns once it has.
  void Stop();

 private:
  void Loop();
  // Runs one pass and reports it; returns whether it checked every count limit exactly.
  bool RunPass(bool trust_estimates);
  bool Stopping();
  // Sleeps up to `duration`; returns false when Stop() was called.
  bool SleepUnlessStopped(absl::Duration duration);

  storage::ConnectionPool* const pool_;
  const config::RetentionConfig config_;
  const storage::RetentionLimits limits_;
  Logger* const logger_;
  prometheus::Counter& pruned_messages_;
  prometheus::Counter& pruned_sessions_;
  prometheus::Counter& pruned_addresses_;  // address dictionary entries

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_RETENTION_JOB_H_
