// MigratedDatabaseTest: a fixture for storage tests that need the full schema: a fresh
// scratch database, migrated, with a pool and a second mailbox `qa` beside `default`.
#ifndef MAILROOM_TESTS_STORAGE_MIGRATED_DATABASE_H_
#define MAILROOM_TESTS_STORAGE_MIGRATED_DATABASE_H_

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "gtest/gtest.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "tests/support/scratch_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {

inline constexpr char kQaMailboxId[] = "00000000-0000-7000-8000-0000000000aa";

class MigratedDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::ScratchDatabase> db = testing::ScratchDatabase::Create();
    ASSERT_OK(db.status());
    db_ = std::make_unique<testing::ScratchDatabase>(*std::move(db));
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
        ConnectionPool::Create({.url = db_->url(), .size = 4});
    ASSERT_OK(pool.status());
    pool_ = *std::move(pool);
    ASSERT_OK(Migrate(*pool_).status());
    ASSERT_OK(pool_->Run([](pqxx::connection& conn) {
      pqxx::work txn(conn);
      txn.exec_params("INSERT INTO mailboxes (id, name, position) VALUES ($1, 'qa', 1)",
                      std::string(kQaMailboxId));
      txn.commit();
    }));
  }

  std::unique_ptr<testing::ScratchDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace mailroom::storage

#endif  // MAILROOM_TESTS_STORAGE_MIGRATED_DATABASE_H_
