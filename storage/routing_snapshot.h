// The routing snapshot: what the routing table (server/routing/routing_table.h) is built
// from, read in one transaction: every mailbox (id, name, position, rules as the jsonb text
// of migration 0004) and every user (name, enabled, default mailbox), plus a version that
// says cheaply whether any of it changed.
//
// Storage does not parse the rules: they are protobuf JSON (mailroom.v1.RoutingRule), which
// server/ owns; storage hands over the JSON text of each element.
//
// It sits between PostgreSQL and server/routing/routing_cache. Every function blocks on
// libpqxx: call them from a storage thread, never from an I/O or gRPC thread. Thread-safe
// (the pool is).
#ifndef MAILROOM_STORAGE_ROUTING_SNAPSHOT_H_
#define MAILROOM_STORAGE_ROUTING_SNAPSHOT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/pool.h"

namespace mailroom::storage {

struct MailboxRoutingRow {
  std::string id{};
  std::string name{};
  int position = 0;
  std::vector<std::string> rules_json{};  // each element of mailboxes.rules, as JSON text
};

struct UserRoutingRow {
  std::string username{};
  bool enabled = true;
  std::optional<std::string> default_mailbox_id{};
};

// Changes whenever a mailbox or user is created, changed or deleted: updated_at of the
// newest row and the row counts of both tables (a delete lowers a count even when it leaves
// the newest updated_at alone). Writers must set updated_at = now() on every change.
struct RoutingVersion {
  int64_t mailboxes_updated_micros = 0;
  int64_t mailbox_count = 0;
  int64_t users_updated_micros = 0;
  int64_t user_count = 0;

  friend bool operator==(const RoutingVersion&, const RoutingVersion&) = default;
};

struct RoutingSnapshot {
  RoutingVersion version;
  std::vector<MailboxRoutingRow> mailboxes;  // by (position, name)
  std::vector<UserRoutingRow> users;         // by username
};

// Returns the current version: one short query over both tables.
absl::StatusOr<RoutingVersion> LoadRoutingVersion(ConnectionPool& pool);

// Returns the snapshot and its version, read consistently (one repeatable-read transaction).
absl::StatusOr<RoutingSnapshot> LoadRoutingSnapshot(ConnectionPool& pool);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_ROUTING_SNAPSHOT_H_
