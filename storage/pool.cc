#include "storage/pool.h"

#include <cmath>
#include <pqxx/nontransaction>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "storage/connection_check.h"
#include "storage/errors.h"

namespace mailroom::storage {
namespace {

bool IsUrl(absl::string_view url) {
  return absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
}

// Appends a libpq parameter unless the connection string already sets it.
void AddParameter(std::string& conninfo, absl::string_view key, absl::string_view value) {
  if (absl::StrContains(conninfo, absl::StrCat(key, "="))) return;
  if (IsUrl(conninfo)) {
    absl::StrAppend(&conninfo, absl::StrContains(conninfo, "?") ? "&" : "?", key, "=", value);
  } else {
    absl::StrAppend(&conninfo, conninfo.empty() ? "" : " ", key, "=", value);
  }
}

}  // namespace

std::string ConnectionString(const PoolOptions& options) {
  std::string conninfo = options.url;
  const int64_t timeout_seconds =
      static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(options.connect_timeout)));
  AddParameter(conninfo, "connect_timeout", absl::StrCat(timeout_seconds));
  AddParameter(conninfo, "fallback_application_name", "mailroom");
  return conninfo;
}

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(PoolOptions options) {
  if (options.url.empty()) return absl::InvalidArgumentError("database url is empty");
  if (options.size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("database pool size must be at least 1, got ", options.size));
  }
  if (options.connect_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("database connect timeout must be at least 1s, got ",
                     absl::FormatDuration(options.connect_timeout)));
  }
  if (options.lease_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("database lease timeout must not be negative");
  }
  std::string conninfo = ConnectionString(options);
  return std::unique_ptr<ConnectionPool>(new ConnectionPool(std::move(options), conninfo));
}

ConnectionPool::ConnectionPool(PoolOptions options, std::string conninfo)
    : options_(std::move(options)),
      conninfo_(std::move(conninfo)),
      display_url_(RedactConnectionString(options_.url)),
      secrets_(ConnectionSecrets(options_.url)) {}

ConnectionPool::~ConnectionPool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::Lease() {
  std::unique_ptr<pqxx::connection> conn;
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &ConnectionPool::SlotFree),
                              options_.lease_timeout)) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("all %d database connections to %s stayed busy for %s", options_.size,
                          display_url_, absl::FormatDuration(options_.lease_timeout)));
    }
    ++leased_;
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (conn != nullptr && IsStale(*conn)) {
    conn.reset();  // closes outside the lock
    absl::MutexLock lock(&mu_);
    --open_;
  }
  if (conn != nullptr) return conn;
  try {
    conn = std::make_unique<pqxx::connection>(conninfo_);
  } catch (...) {
    absl::Status status = CurrentExceptionToStatus(secrets_);
    absl::MutexLock lock(&mu_);
    --leased_;
    return absl::Status(status.code(),
                        absl::StrCat("connecting to ", display_url_, ": ", status.message()));
  }
  absl::MutexLock lock(&mu_);
  ++open_;
  return conn;
}

void ConnectionPool::Release(std::unique_ptr<pqxx::connection> conn, bool reuse) {
  {
    absl::MutexLock lock(&mu_);
    --leased_;
    if (reuse) {
      idle_.push_back(std::move(conn));
      return;
    }
    --open_;
  }
  conn.reset();  // closing may touch the network: not under the lock
}

absl::Status ConnectionPool::RunVoid(absl::FunctionRef<void(pqxx::connection&)> fn) {
  absl::StatusOr<std::unique_ptr<pqxx::connection>> leased = Lease();
  if (!leased.ok()) return leased.status();
  std::unique_ptr<pqxx::connection> conn = *std::move(leased);
  absl::Status status;
  try {
    fn(*conn);
  } catch (...) {
    status = CurrentExceptionToStatus(secrets_);
  }
  const bool reuse = !IsConnectionLost(status) && conn->is_open();
  Release(std::move(conn), reuse);
  return status;
}

absl::Status ConnectionPool::Ping() {
  return Run([](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn, "ping");
    txn.exec("SELECT 1");
  });
}

PoolStats ConnectionPool::Stats() const {
  absl::MutexLock lock(&mu_);
  return PoolStats{.open = open_, .idle = static_cast<int>(idle_.size()), .leased = leased_};
}

}  // namespace mailroom::storage
