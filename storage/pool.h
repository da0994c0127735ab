// ConnectionPool: a bounded set of libpqxx connections shared by the storage repositories.
//
// Every database call in Mailroom goes through Run(): it leases a connection, calls the
// function with it, catches whatever libpqxx throws and turns it into an absl::Status through
// storage/errors.h, and gives the connection back. Connections are opened lazily, so creating
// a pool never fails because PostgreSQL is down, and a connection that broke (or that the
// server closed while it sat idle, e.g. during a PostgreSQL restart) is dropped and replaced
// on the next lease: the process survives database restarts without being recreated.
//
// At most `size` connections exist; callers beyond that wait up to `lease_timeout` and then
// get ResourceExhausted. libpq's connect_timeout is always set, so opening a connection to an
// unreachable server ends with Unavailable instead of hanging.
//
// Thread-safety: ConnectionPool is thread-safe; any number of threads may call Run() and
// Ping() at once. A leased pqxx::connection belongs to the calling thread for the duration of
// the call (libpqxx connections are not thread-safe) and must not escape it. The call blocks
// (network I/O): never call it on an I/O or gRPC callback thread.

#ifndef MAILROOM_STORAGE_POOL_H_
#define MAILROOM_STORAGE_POOL_H_

#include <memory>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mailroom::storage {

struct PoolOptions {
  // libpq connection string, URL ("postgresql://user:pw@host:5432/db?sslmode=require") or
  // keyword form ("host=... dbname=..."). May contain a password; the pool never prints it.
  std::string url;
  // Maximum number of open connections.
  int size = 8;
  // libpq connect_timeout, added to the connection string unless it already sets one.
  // libpq rounds up to whole seconds and treats 1 s as 2 s.
  absl::Duration connect_timeout = absl::Seconds(5);
  // How long Run() waits for a free connection when all `size` are leased.
  absl::Duration lease_timeout = absl::Seconds(10);
};

// A snapshot of the pool, for metrics and tests.
struct PoolStats {
  int open = 0;    // connections currently open (idle + leased with a connection)
  int idle = 0;    // open connections waiting in the pool
  int leased = 0;  // calls currently holding a slot
};

// Returns the libpq connection string a pool with `options` opens: options.url plus
// connect_timeout (whole seconds, rounded up) and fallback_application_name=mailroom, each
// unless the url already sets it. The result may contain a password: never print it.
std::string ConnectionString(const PoolOptions& options);

namespace internal {
// What Run(fn) returns for a function returning R: void and Status → Status, StatusOr<U> →
// StatusOr<U>, any other T → StatusOr<T>.
template <typename R>
struct RunResult {
  using type = absl::StatusOr<R>;
};
template <>
struct RunResult<void> {
  using type = absl::Status;
};
template <>
struct RunResult<absl::Status> {
  using type = absl::Status;
};
template <typename U>
struct RunResult<absl::StatusOr<U>> {
  using type = absl::StatusOr<U>;
};
}  // namespace internal

class ConnectionPool {
 public:
  // Returns a pool for `options`, without connecting. Returns InvalidArgument when the url is
  // empty, size < 1, connect_timeout < 1 s or lease_timeout < 0.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(PoolOptions options);

  // REQUIRES: no call to Run() or Ping() is in progress.
  ~ConnectionPool();

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Calls fn(connection) with a leased connection and returns:
  //  - what fn returned, when fn returns absl::Status or absl::StatusOr<U>;
  //  - OK (or StatusOr<T> holding fn's value) when fn returns void (or T) without throwing;
  //  - the mapped status (storage/errors.h) when fn throws; the connection is dropped if that
  //    status says it is lost (Unavailable, Unknown) or it is no longer open;
  //  - Unavailable when no connection can be opened;
  //  - ResourceExhausted when no connection was free within lease_timeout.
  // fn owns its transactions (pqxx::work ... commit()); an uncommitted transaction is rolled
  // back when fn ends. REQUIRES: fn leaves the session as found (no SET, no held session
  // locks, no LISTEN), since the connection is reused by other callers.
  template <typename Fn>
  typename internal::RunResult<
      std::remove_cvref_t<std::invoke_result_t<Fn&, pqxx::connection&>>>::type
  Run(Fn&& fn);

  // Runs "SELECT 1". Returns OK when the database answers, else the status Run() would.
  absl::Status Ping();

  // The connection string with any password replaced by "***".
  const std::string& display_url() const { return display_url_; }
  int size() const { return options_.size; }
  PoolStats Stats() const;

 private:
  ConnectionPool(PoolOptions options, std::string conninfo);

  absl::Status RunVoid(absl::FunctionRef<void(pqxx::connection&)> fn);
  // Takes a slot and a connection (idle, or newly opened). On error the slot is released.
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Lease();
  // Gives the slot back, keeping `conn` for reuse if `reuse`.
  void Release(std::unique_ptr<pqxx::connection> conn, bool reuse);
  bool SlotFree() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return leased_ < options_.size; }

  const PoolOptions options_;
  const std::string conninfo_;     // url plus connect_timeout; may hold a password
  const std::string display_url_;  // redacted
  const std::vector<std::string> secrets_;

  mutable absl::Mutex mu_;
  int leased_ ABSL_GUARDED_BY(mu_) = 0;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
};

template <typename Fn>
typename internal::RunResult<
    std::remove_cvref_t<std::invoke_result_t<Fn&, pqxx::connection&>>>::type
ConnectionPool::Run(Fn&& fn) {
  using R = std::remove_cvref_t<std::invoke_result_t<Fn&, pqxx::connection&>>;
  if constexpr (std::is_void_v<R>) {
    return RunVoid(fn);
  } else if constexpr (std::is_same_v<R, absl::Status>) {
    absl::Status result;
    absl::Status status = RunVoid([&](pqxx::connection& conn) { result = fn(conn); });
    if (!status.ok()) return status;
    return result;
  } else {
    std::optional<R> result;
    absl::Status status = RunVoid([&](pqxx::connection& conn) { result.emplace(fn(conn)); });
    if (!status.ok()) return status;
    return std::move(*result);
  }
}

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_POOL_H_
