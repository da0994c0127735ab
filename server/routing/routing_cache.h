// RoutingCache: the current RoutingTable of this replica, kept up to date from PostgreSQL.
//
// A background thread polls a cheap version query (storage/routing_snapshot.h) every
// `poll_interval` (500 ms) and rebuilds the table when the version changed, so a mailbox or
// user changed on any replica routes here within a second. Invalidate() (called by the
// Mailbox and User services after a change) wakes the thread for an immediate reload.
// Until the first load succeeds, and while the database is away, the last table stays in
// use; before any, everything goes to `default`.
//
// Current() is the capture path's only call: a short reader lock to copy a shared_ptr.
// Tables are immutable; an old one lives until its last user drops it.
//
// Thread-safety: thread-safe. Start()/Stop() from one owner thread.
#ifndef MAILROOM_SERVER_ROUTING_ROUTING_CACHE_H_
#define MAILROOM_SERVER_ROUTING_ROUTING_CACHE_H_

#include <memory>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/routing/routing_table.h"
#include "smtp/engine_log.h"
#include "storage/pool.h"
#include "storage/routing_snapshot.h"

namespace mailroom::server::routing {

struct RoutingCacheOptions {
  RoutingPolicy policy;
  absl::Duration poll_interval = absl::Milliseconds(500);
};

class RoutingCache {
 public:
  // REQUIRES: `pool` and `log` outlive the cache.
  RoutingCache(storage::ConnectionPool* pool, RoutingCacheOptions options, smtp::EngineLog* log);
  // Stops the thread if Stop() was not called.
  ~RoutingCache();
  RoutingCache(const RoutingCache&) = delete;
  RoutingCache& operator=(const RoutingCache&) = delete;

  // Starts the polling thread; its first round loads at once.
  void Start();
  // Stops and joins the polling thread. Idempotent.
  void Stop();

  // The table to route with now. Never null.
  std::shared_ptr<const RoutingTable> Current() const;

  // Asks for a reload as soon as possible (without waiting for the version to change). Cheap
  // and non-blocking: callable from gRPC threads.
  void Invalidate();

  // Loads the snapshot now on the calling thread (blocking: not on I/O or gRPC threads),
  // whatever the version. Returns what loading returned; the previous table stays on error.
  absl::Status Reload();

 private:
  void PollLoop();
  // Reloads when `force` or when the version differs from the loaded one.
  absl::Status Refresh(bool force);

  storage::ConnectionPool* const pool_;
  const RoutingCacheOptions options_;
  smtp::EngineLog* const log_;

  mutable absl::Mutex table_mutex_;
  std::shared_ptr<const RoutingTable> table_ ABSL_GUARDED_BY(table_mutex_);

  // Serialises loads (the poller and Reload()).
  absl::Mutex load_mutex_;
  std::optional<storage::RoutingVersion> loaded_version_ ABSL_GUARDED_BY(load_mutex_);
  bool last_load_failed_ ABSL_GUARDED_BY(load_mutex_) = false;

  absl::Mutex wake_mutex_;
  bool stopping_ ABSL_GUARDED_BY(wake_mutex_) = false;
  bool invalidated_ ABSL_GUARDED_BY(wake_mutex_) = false;
  std::thread thread_;
};

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_ROUTING_CACHE_H_
