// Migrate() against fresh databases: the schema it creates, idempotence, concurrent replicas
// and refusing a schema newer than the binary.

#include "storage/migrations.h"

#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/schema.h"
#include "tests/support/scratch_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using absl::StatusCode;

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::ScratchDatabase> db = testing::ScratchDatabase::Create();
    ASSERT_OK(db);
    db_ = std::make_unique<testing::ScratchDatabase>(*std::move(db));
    pool_ = NewPool();
    ASSERT_NE(pool_, nullptr);
  }

  std::unique_ptr<ConnectionPool> NewPool() {
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
        ConnectionPool::Create({.url = db_->url(), .size = 2});
    EXPECT_OK(pool);
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  // Runs a query returning one integer.
  int QueryInt(const std::string& sql) {
    absl::StatusOr<int> value = pool_->Run([&](pqxx::connection& conn) {
      pqxx::nontransaction txn(conn);
      return txn.exec1(sql)[0].as<int>();
    });
    EXPECT_OK(value);
    return value.ok() ? *value : -1;
  }

  std::unique_ptr<testing::ScratchDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST(EmbeddedMigrationsTest, AreConsecutiveFromOne) {
  ASSERT_FALSE(Migrations().empty());
  for (size_t i = 0; i < Migrations().size(); ++i) {
    EXPECT_EQ(Migrations()[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(Migrations()[i].name.empty());
    EXPECT_FALSE(Migrations()[i].sql.empty());
  }
  EXPECT_EQ(Migrations()[0].name, "initial");
  EXPECT_EQ(LatestSchemaVersion(), Migrations().back().version);
}

TEST_F(MigrationsTest, CreatesTheSchemaOnAFreshDatabase) {
  absl::StatusOr<int> applied = Migrate(*pool_);
  ASSERT_OK(applied);
  EXPECT_EQ(*applied, LatestSchemaVersion());

  for (const char* table : {"schema_migrations", "mailboxes", "users", "smtp_sessions", "messages",
                            "message_recipients", "message_mailboxes"}) {
    EXPECT_EQ(QueryInt(std::string("SELECT count(*) FROM information_schema.tables "
                                   "WHERE table_schema = 'public' AND table_name = '") +
                       table + "'"),
              1)
        << table;
  }
  EXPECT_EQ(QueryInt("SELECT max(version) FROM schema_migrations"), LatestSchemaVersion());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM schema_migrations WHERE name = 'initial' "
                     "AND applied_at IS NOT NULL"),
            1);
  EXPECT_EQ(QueryInt(std::string("SELECT count(*) FROM mailboxes WHERE id = '") +
                     std::string(kDefaultMailboxId) + "' AND name = '" +
                     std::string(kDefaultMailboxName) + "'"),
            1);
  // raw and transcripts are lz4-compressed.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pg_attribute WHERE attcompression = 'l' AND "
                     "attrelid IN ('messages'::regclass, 'smtp_sessions'::regclass)"),
            2);
  // Migrations leave no advisory lock behind on the pooled connection.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                     "WHERE l.locktype = 'advisory' AND d.datname = current_database()"),
            0);
}

TEST_F(MigrationsTest, SchemaAcceptsAMessageInTheDefaultMailbox) {
  ASSERT_OK(Migrate(*pool_));
  const std::string message_id = NewId();
  const std::string session_id = NewId();
  const std::string raw("Subject: hi\r\n\r\n\0\xff body\r\n", 21);
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO messages (id, received_at, session_id, envelope_from, size_bytes, subject, "
        "raw) VALUES ($1, now(), $2, 'a@example.com', $3, 'hi', $4)",
        message_id, session_id, static_cast<int64_t>(raw.size()),
        pqxx::binarystring(raw.data(), raw.size()));
    txn.exec_params(
        "INSERT INTO message_recipients (message_id, position, address) VALUES ($1, 0, $2)",
        message_id, "B@Example.com");
    txn.exec_params(
        "INSERT INTO message_mailboxes (mailbox_id, message_id, received_at) "
        "SELECT $1, id, received_at FROM messages WHERE id = $2",
        std::string(kDefaultMailboxId), message_id);
    txn.commit();
  }));
  absl::StatusOr<std::string> stored = pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    pqxx::row row = txn.exec_params1(
        "SELECT m.raw FROM message_mailboxes mm JOIN messages m ON m.id = mm.message_id "
        "JOIN message_recipients r ON r.message_id = m.id "
        "WHERE mm.mailbox_id = $1 AND lower(r.address) = 'b@example.com'",
        std::string(kDefaultMailboxId));
    return pqxx::binarystring(row[0]).str();
  });
  ASSERT_OK(stored);
  EXPECT_EQ(*stored, raw);
  // Linking the same message to the same mailbox twice is refused.
  EXPECT_EQ(pool_
                ->Run([&](pqxx::connection& conn) {
                  pqxx::work txn(conn);
                  txn.exec_params(
                      "INSERT INTO message_mailboxes (mailbox_id, message_id, received_at) "
                      "VALUES ($1, $2, now() + interval '1 second')",
                      std::string(kDefaultMailboxId), message_id);
                  txn.commit();
                })
                .code(),
            StatusCode::kAlreadyExists);
  // Deleting the message cascades to its recipients and mailbox links.
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params("DELETE FROM messages WHERE id = $1", message_id);
    txn.commit();
  }));
  EXPECT_EQ(QueryInt("SELECT count(*) FROM message_recipients"), 0);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM message_mailboxes"), 0);
}

// The address dictionary entries of a message (migrations 0008 and 0010): each line split
// at commas, trimmed, blanks dropped, each piece once per role (case-insensitively), with
// md5 of the lower-cased piece as its id.
TEST_F(MigrationsTest, AddressPiecesAreTheTrimmedPiecesOfEachLineOncePerRole) {
  ASSERT_OK(Migrate(*pool_));
  absl::StatusOr<std::string> pieces = pool_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return txn
        .exec1(R"sql(
SELECT string_agg(role::text || ':' || piece, '|' ORDER BY role DESC, piece)
FROM mailroom_address_pieces(E'a@x.com\nAlice <alice@x.com>, bob@y,, \n a@x.com ',
                             E'  c@z ,\nd@w\n\nd@w,a@x.com'))sql")[0]
        .as<std::string>();
  });
  ASSERT_OK(pieces);
  EXPECT_EQ(*pieces, "s:Alice <alice@x.com>|s:a@x.com|s:bob@y|r:a@x.com|r:c@z|r:d@w");
  EXPECT_EQ(QueryInt("SELECT count(*) FROM mailroom_address_pieces('Bob@Y, bob@y', NULL)"), 1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM mailroom_address_pieces('', E' ,\n,')"), 0);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM mailroom_address_pieces('Bob@Y', NULL) "
                     "WHERE address_id = md5('bob@y')::uuid AND role = 's'"),
            1);
}

// Rows stored by an older version get the address search columns of migration 0006 and
// the address links of 0007 when they run: the database is brought to version 5 by hand,
// as an older binary left it.
TEST_F(MigrationsTest, AddressSearchColumnsAreFilledForMessagesStoredBefore) {
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec(
        "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    for (const Migration& migration : Migrations()) {
      if (migration.version > 5) break;
      txn.exec(std::string(migration.sql));
      txn.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                      migration.version, std::string(migration.name));
    }
    const std::string id = NewId();
    txn.exec_params(
        "INSERT INTO messages (id, received_at, envelope_from, size_bytes, from_header, "
        "to_header, cc_header, raw) VALUES ($1, now(), 'bounce@example.com', 1, "
        "'Alice <alice@example.com>', 'bob@example.com', NULL, '\\x00')",
        id);
    txn.exec_params(
        "INSERT INTO message_recipients (message_id, position, address) "
        "VALUES ($1, 0, 'bob@example.com'), ($1, 1, 'hidden@example.net')",
        id);
    txn.commit();
  }));
  ASSERT_OK(Migrate(*pool_));
  absl::StatusOr<std::pair<std::string, std::string>> columns =
      pool_->Run([&](pqxx::connection& conn) {
        pqxx::nontransaction txn(conn);
        pqxx::row row = txn.exec1("SELECT sender_search, recipient_search FROM messages");
        return std::make_pair(row[0].as<std::string>(), row[1].as<std::string>());
      });
  ASSERT_OK(columns);
  EXPECT_EQ(columns->first, "bounce@example.com\nAlice <alice@example.com>");
  EXPECT_EQ(columns->second, "bob@example.com\nhidden@example.net\nbob@example.com");
  // And their links to the address dictionary (migration 0007): bob once.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM addresses"), 4);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM message_addresses WHERE role = 's'"), 2);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM message_addresses WHERE role = 'r'"), 2);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM message_addresses ma JOIN addresses a "
                     "ON a.id = ma.address_id JOIN messages m ON m.id = ma.message_id "
                     "WHERE a.text = 'Alice <alice@example.com>' "
                     "AND ma.received_at = m.received_at"),
            1);
}

TEST_F(MigrationsTest, SecondRunAppliesNothing) {
  ASSERT_OK(Migrate(*pool_));
  absl::StatusOr<int> again = Migrate(*pool_);
  ASSERT_OK(again);
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM schema_migrations"), LatestSchemaVersion());
}

TEST_F(MigrationsTest, ConcurrentReplicasAllSucceedAndApplyEachOnce) {
  constexpr int kReplicas = 6;
  std::vector<absl::StatusOr<int>> results(kReplicas, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      std::unique_ptr<ConnectionPool> pool = NewPool();  // each replica has its own pool
      if (pool != nullptr) results[i] = Migrate(*pool);
    });
  }
  for (std::thread& thread : threads) thread.join();
  int total = 0;
  for (const absl::StatusOr<int>& result : results) {
    ASSERT_OK(result);
    total += *result;
  }
  EXPECT_EQ(total, LatestSchemaVersion());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM schema_migrations"), LatestSchemaVersion());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM mailboxes"), 1);
}

TEST_F(MigrationsTest, RefusesADatabaseNewerThanTheBinary) {
  ASSERT_OK(Migrate(*pool_));
  const int future = LatestSchemaVersion() + 7;
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')", future);
    txn.commit();
  }));
  const absl::Status status = Migrate(*pool_).status();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find(std::to_string(future)), std::string::npos) << status;
  EXPECT_NE(status.message().find(std::to_string(LatestSchemaVersion())), std::string::npos)
      << status;
  // The lock was released despite the error.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                     "WHERE l.locktype = 'advisory' AND d.datname = current_database()"),
            0);
}

}  // namespace
}  // namespace mailroom::storage
