// DatabaseSupervisor: brings the database up at start-up and watches it afterwards.
//
// At start-up it applies the migrations, retrying with exponential backoff (and saying so
// in the log) while PostgreSQL is unreachable, so that a pod started before its database
// neither exits in a tight loop nor serves half-ready. Afterwards it pings the database at a
// fixed interval and reports every change of health to a callback (the gRPC health service
// and the `mailroom_database_up` metric listen there).
//
// Thread-safe: Stop() may be called from any thread and wakes every wait.
#ifndef MAILROOM_SERVER_DATABASE_SUPERVISOR_H_
#define MAILROOM_SERVER_DATABASE_SUPERVISOR_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/config/settings.h"
#include "server/logger.h"
#include "storage/pool.h"

namespace mailroom::server {

class DatabaseSupervisor {
 public:
  // Called with true when the database starts answering and false when it stops.
  using HealthCallback = std::function<void(bool healthy)>;

  // REQUIRES: `pool` and `logger` outlive the supervisor.
  DatabaseSupervisor(storage::ConnectionPool* pool, const config::DatabaseConfig& config,
                     Logger* logger, HealthCallback on_health_change);
  ~DatabaseSupervisor();  // Stops and joins the health-check thread.

  DatabaseSupervisor(const DatabaseSupervisor&) = delete;
  DatabaseSupervisor& operator=(const DatabaseSupervisor&) = delete;

  // Applies pending migrations, retrying with backoff until they succeed. Returns OK once
  // the schema is current, Cancelled when Stop() came first, and FailedPrecondition at once
  // for problems that waiting cannot fix (a schema newer than this binary).
  absl::Status WaitUntilMigrated();

  // Starts the periodic health check in a background thread.
  void StartHealthChecks();

  void Stop();

 private:
  // Sleeps up to `duration`; returns false when Stop() was called.
  bool SleepUnlessStopped(absl::Duration duration);
  void HealthCheckLoop();

  storage::ConnectionPool* const pool_;
  const config::DatabaseConfig config_;
  Logger* const logger_;
  const HealthCallback on_health_change_;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread health_thread_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_DATABASE_SUPERVISOR_H_
