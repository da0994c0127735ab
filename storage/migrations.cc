#include "storage/migrations.h"

#include <exception>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "storage/errors.h"

namespace mailroom::storage {
namespace {

constexpr char kLockSql[] = "SELECT pg_advisory_lock($1)";
constexpr char kUnlockSql[] = "SELECT pg_advisory_unlock($1)";
constexpr char kCreateTableSql[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    int PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";
constexpr char kAppliedSql[] = "SELECT version FROM schema_migrations ORDER BY version";
constexpr char kRecordSql[] = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";

// Runs the migration steps on `conn`, which holds the advisory lock. Throws what libpqxx
// throws; Migrate() turns that into a status.
absl::StatusOr<int> ApplyPending(pqxx::connection& conn) {
  std::set<int> applied;
  {
    pqxx::work txn(conn, "migrations_prepare");
    txn.exec(kCreateTableSql);
    for (const pqxx::row& row : txn.exec(kAppliedSql)) applied.insert(row[0].as<int>());
    txn.commit();
  }
  if (!applied.empty() && *applied.rbegin() > LatestSchemaVersion()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database schema version ", *applied.rbegin(), " is newer than this binary's ",
        LatestSchemaVersion(), "; run a newer mailroom (or restore a matching backup)"));
  }
  int count = 0;
  for (const Migration& migration : Migrations()) {
    if (applied.contains(migration.version)) continue;
    pqxx::work txn(conn, absl::StrCat("migration_", migration.version));
    txn.exec(std::string(migration.sql));
    txn.exec_params(kRecordSql, migration.version, std::string(migration.name));
    txn.commit();
    ++count;
  }
  return count;
}

}  // namespace

int LatestSchemaVersion() { return Migrations().empty() ? 0 : Migrations().back().version; }

absl::StatusOr<int> Migrate(ConnectionPool& pool) {
  return pool.Run([](pqxx::connection& conn) -> absl::StatusOr<int> {
    {
      pqxx::nontransaction txn(conn, "migrations_lock");
      txn.exec_params(kLockSql, kMigrationLockKey);
    }
    // The lock is held by the session, not a transaction: release it on every path, else the
    // pooled connection would keep other replicas waiting. If the connection broke, the
    // server has released it already and the pool drops the connection.
    absl::StatusOr<int> result;
    try {
      result = ApplyPending(conn);
    } catch (...) {
      result = CurrentExceptionToStatus();
    }
    {
      pqxx::nontransaction txn(conn, "migrations_unlock");
      txn.exec_params(kUnlockSql, kMigrationLockKey);
    }
    return result;
  });
}

}  // namespace mailroom::storage
