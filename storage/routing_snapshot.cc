#include "storage/routing_snapshot.h"

#include <pqxx/pqxx>
#include <utility>

#include "storage/statement.h"

namespace mailroom::storage {
namespace {

// Both tables are small (tens to hundreds of rows), so aggregates over them are cheap; the
// version is polled every half second by every replica.
constexpr Statement kSelectVersion{
    "routing_snapshot_version",
    "SELECT (SELECT COALESCE((EXTRACT(EPOCH FROM max(updated_at)) * 1000000)::bigint, 0)"
    "          FROM mailboxes),"
    "       (SELECT count(*) FROM mailboxes),"
    "       (SELECT COALESCE((EXTRACT(EPOCH FROM max(updated_at)) * 1000000)::bigint, 0)"
    "          FROM users),"
    "       (SELECT count(*) FROM users)"};

// One row per rule (WITH ORDINALITY keeps their order); a mailbox without rules still has
// one row, with NULL rule.
constexpr Statement kSelectMailboxes{
    "routing_snapshot_mailboxes",
    "SELECT m.id::text, m.name, m.position, r.rule::text"
    "  FROM mailboxes m"
    "  LEFT JOIN LATERAL jsonb_array_elements(m.rules) WITH ORDINALITY AS r(rule, n) ON true"
    " ORDER BY m.position, m.name, m.id, r.n"};

constexpr Statement kSelectUsers{
    "routing_snapshot_users",
    "SELECT username, enabled, default_mailbox_id::text FROM users ORDER BY username"};

RoutingVersion ReadVersion(pqxx::transaction_base& txn) {
  const pqxx::row row = ExecPrepared(txn, kSelectVersion)[0];
  return RoutingVersion{.mailboxes_updated_micros = row[0].as<int64_t>(),
                        .mailbox_count = row[1].as<int64_t>(),
                        .users_updated_micros = row[2].as<int64_t>(),
                        .user_count = row[3].as<int64_t>()};
}

}  // namespace

absl::StatusOr<RoutingVersion> LoadRoutingVersion(ConnectionPool& pool) {
  return pool.Run([](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return ReadVersion(txn);
  });
}

absl::StatusOr<RoutingSnapshot> LoadRoutingSnapshot(ConnectionPool& pool) {
  return pool.Run([](pqxx::connection& conn) {
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only>
        txn(conn);
    RoutingSnapshot snapshot;
    snapshot.version = ReadVersion(txn);
    for (const pqxx::row& row : ExecPrepared(txn, kSelectMailboxes)) {
      std::string id = row[0].as<std::string>();
      if (snapshot.mailboxes.empty() || snapshot.mailboxes.back().id != id) {
        snapshot.mailboxes.push_back(MailboxRoutingRow{.id = std::move(id),
                                                       .name = row[1].as<std::string>(),
                                                       .position = row[2].as<int>(),
                                                       .rules_json = {}});
      }
      if (!row[3].is_null())
        snapshot.mailboxes.back().rules_json.push_back(row[3].as<std::string>());
    }
    for (const pqxx::row& row : ExecPrepared(txn, kSelectUsers)) {
      UserRoutingRow user{.username = row[0].as<std::string>(),
                          .enabled = row[1].as<bool>(),
                          .default_mailbox_id = std::nullopt};
      if (!row[2].is_null()) user.default_mailbox_id = row[2].as<std::string>();
      snapshot.users.push_back(std::move(user));
    }
    txn.commit();
    return snapshot;
  });
}

}  // namespace mailroom::storage
