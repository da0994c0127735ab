// Schema migrations: versioned SQL files (storage/migrations/NNNN_name.sql) compiled into the
// binary at build time, and Migrate(), which brings a database up to date.
//
// Migrate() runs at start-up on every replica. It serialises replicas with a session-level
// advisory lock (kMigrationLockKey) held on one connection, records applied versions in
// schema_migrations, and applies each pending migration in its own transaction, so that a
// crash leaves the database at a clean version and several replicas starting together all
// succeed: the first applies, the others wait for the lock and then find nothing to do.
//
// Rules for migration files: versions are consecutive from 0001; a file is never edited once
// released (add a new one); each file runs inside one transaction, so no
// CREATE INDEX CONCURRENTLY.
//
// Thread-safety: all functions are thread-safe; Migrate() blocks on the database.

#ifndef MAILROOM_STORAGE_MIGRATIONS_H_
#define MAILROOM_STORAGE_MIGRATIONS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/pool.h"

namespace mailroom::storage {

// The pg_advisory_lock key that serialises migrations: the ASCII bytes of "mailroom" read as a
// big-endian 64-bit integer. Other code must not use this key.
inline constexpr int64_t kMigrationLockKey = 0x6D61696C726F6F6D;

struct Migration {
  int version;             // 1, 2, ... from the NNNN file name prefix
  absl::string_view name;  // the file name without prefix and ".sql", e.g. "initial"
  absl::string_view sql;   // the file's contents
};

// Returns every migration compiled into this binary, ordered by version.
absl::Span<const Migration> Migrations();

// Returns the highest migration version this binary knows.
int LatestSchemaVersion();

// Applies the pending migrations and returns how many it applied (0 when up to date).
// Returns FailedPrecondition naming both versions when the database has a version newer
// than LatestSchemaVersion() (an older binary against a newer schema), and the pool's
// statuses (storage/pool.h) when the database fails; a failed migration's transaction is
// rolled back and the ones before it stay applied.
absl::StatusOr<int> Migrate(ConnectionPool& pool);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_MIGRATIONS_H_
