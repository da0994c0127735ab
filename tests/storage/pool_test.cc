// ConnectionPool against a real PostgreSQL: leasing, error mapping through a live server, and
// surviving a server restart.

#include "storage/pool.h"

#include <atomic>
#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "storage/statement.h"
#include "tests/support/private_cluster.h"
#include "tests/support/scratch_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using absl::StatusCode;

std::unique_ptr<ConnectionPool> MakePool(const std::string& url, int size = 4) {
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
      ConnectionPool::Create({.url = url, .size = size});
  EXPECT_OK(pool);
  return pool.ok() ? *std::move(pool) : nullptr;
}

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::ScratchDatabase> db = testing::ScratchDatabase::Create();
    ASSERT_OK(db);
    db_ = std::make_unique<testing::ScratchDatabase>(*std::move(db));
    pool_ = MakePool(db_->url());
    ASSERT_NE(pool_, nullptr);
    ASSERT_OK(pool_->Run([](pqxx::connection& conn) {
      pqxx::work txn(conn);
      txn.exec("CREATE TABLE parent (id int PRIMARY KEY, name text UNIQUE NOT NULL)");
      txn.exec("CREATE TABLE child (parent_id int NOT NULL REFERENCES parent (id))");
      txn.exec("CREATE TABLE counter (n int NOT NULL)");
      txn.exec("INSERT INTO counter VALUES (0)");
      txn.commit();
    }));
  }

  std::unique_ptr<testing::ScratchDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST(PoolCreateTest, RejectsBadOptions) {
  EXPECT_EQ(ConnectionPool::Create({.url = ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectionPool::Create({.url = "postgresql://h/db", .size = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectionPool::Create(
                {.url = "postgresql://h/db", .connect_timeout = absl::Milliseconds(10)})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(PoolCreateTest, DoesNotConnectAndNeverPrintsThePassword) {
  // Nothing listens on port 1: creating succeeds, using fails with Unavailable.
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
      ConnectionPool::Create({.url = "postgresql://mailroom:hunter2@127.0.0.1:1/db"});
  ASSERT_OK(pool);
  EXPECT_EQ((*pool)->display_url(), "postgresql://mailroom:***@127.0.0.1:1/db");
  const absl::Status status = (*pool)->Ping();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status;
  EXPECT_EQ(status.message().find("hunter2"), std::string::npos) << status;
  EXPECT_NE(status.message().find("127.0.0.1"), std::string::npos) << status;
  EXPECT_EQ((*pool)->Stats().leased, 0);
  EXPECT_EQ((*pool)->Stats().open, 0);
}

TEST(ConnectionStringTest, AddsConnectTimeoutUnlessSet) {
  EXPECT_EQ(ConnectionString({.url = "postgresql://h/db", .connect_timeout = absl::Seconds(3)}),
            "postgresql://h/db?connect_timeout=3&fallback_application_name=mailroom");
  EXPECT_EQ(ConnectionString({.url = "postgresql://h/db?sslmode=require",
                              .connect_timeout = absl::Milliseconds(2500)}),
            "postgresql://h/db?sslmode=require&connect_timeout=3"
            "&fallback_application_name=mailroom");
  EXPECT_EQ(ConnectionString({.url = "host=h connect_timeout=9 application_name=x"}),
            "host=h connect_timeout=9 application_name=x fallback_application_name=mailroom");
}

TEST_F(PoolTest, ConnectionsNameTheApplication) {
  absl::StatusOr<std::string> name = pool_->Run([](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return txn.exec1("SELECT current_setting('application_name')")[0].as<std::string>();
  });
  ASSERT_OK(name);
  EXPECT_EQ(*name, "mailroom");
}

TEST_F(PoolTest, PingAndValues) {
  EXPECT_OK(pool_->Ping());
  absl::StatusOr<int> value = pool_->Run([](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return txn.exec1("SELECT 40 + 2")[0].as<int>();
  });
  ASSERT_OK(value);
  EXPECT_EQ(*value, 42);
  // A function may return its own status; Run passes it through.
  EXPECT_EQ(pool_->Run([](pqxx::connection&) { return absl::NotFoundError("nope"); }).code(),
            StatusCode::kNotFound);
  absl::StatusOr<std::string> text =
      pool_->Run([](pqxx::connection&) -> absl::StatusOr<std::string> { return "x"; });
  ASSERT_OK(text);
  EXPECT_EQ(*text, "x");
}

TEST_F(PoolTest, PreparedStatementsCanBeDeclaredOnEveryCall) {
  static constexpr Statement kInsert = {"pool_test_insert",
                                        "INSERT INTO parent (id, name) VALUES ($1, $2)"};
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      ExecPrepared(txn, kInsert, i, "p" + std::to_string(i));
      txn.commit();
    }));
  }
  absl::StatusOr<int> count = pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    return txn.exec1("SELECT count(*) FROM parent")[0].as<int>();
  });
  ASSERT_OK(count);
  EXPECT_EQ(*count, 3);
}

TEST_F(PoolTest, UniqueViolationIsAlreadyExists) {
  auto insert = [](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("INSERT INTO parent VALUES (1, 'a')");
    txn.commit();
  };
  ASSERT_OK(pool_->Run(insert));
  const absl::Status status = pool_->Run(insert);
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status;
  EXPECT_NE(status.message().find("parent_pkey"), std::string::npos) << status;
  // A server-side error leaves the connection usable: it goes back to the pool.
  EXPECT_OK(pool_->Ping());
  EXPECT_EQ(pool_->Stats().open, 1);
}

TEST_F(PoolTest, ForeignKeyViolationIsFailedPrecondition) {
  const absl::Status status = pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("INSERT INTO child VALUES (99)");
    txn.commit();
  });
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status;
}

TEST_F(PoolTest, NotNullAndBadInputAreInvalidArgument) {
  EXPECT_EQ(pool_
                ->Run([](pqxx::connection& conn) {
                  pqxx::work txn(conn);
                  txn.exec("INSERT INTO parent VALUES (1, NULL)");
                })
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(pool_
                ->Run([](pqxx::connection& conn) {
                  pqxx::work txn(conn);
                  txn.exec("SELECT 'not-a-uuid'::uuid");
                })
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(PoolTest, SyntaxErrorIsInternalWithSqlState) {
  const absl::Status status = pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("SELEC 1");
  });
  EXPECT_EQ(status.code(), StatusCode::kInternal) << status;
  EXPECT_NE(status.message().find("SQLSTATE 42601"), std::string::npos) << status;
}

TEST_F(PoolTest, SerializationFailureIsAborted) {
  // Write skew between two SERIALIZABLE transactions: each reads the table, then inserts.
  // The second one to commit must fail. The inner Run leases the pool's second connection.
  absl::Status inner;
  const absl::Status outer = pool_->Run([&](pqxx::connection& conn) {
    pqxx::transaction<pqxx::serializable> first(conn);
    const int count = first.exec1("SELECT count(*) FROM parent")[0].as<int>();
    inner = pool_->Run([](pqxx::connection& other) {
      pqxx::transaction<pqxx::serializable> second(other);
      const int n = second.exec1("SELECT count(*) FROM parent")[0].as<int>();
      second.exec_params("INSERT INTO parent VALUES ($1, 'second')", n + 100);
      second.commit();
    });
    first.exec_params("INSERT INTO parent VALUES ($1, 'first')", count + 200);
    first.commit();
  });
  EXPECT_OK(inner);
  EXPECT_EQ(outer.code(), StatusCode::kAborted) << outer;
}

TEST_F(PoolTest, SizeOneSerialisesCallersFromManyThreads) {
  std::unique_ptr<ConnectionPool> pool = MakePool(db_->url(), /*size=*/1);
  ASSERT_NE(pool, nullptr);
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  constexpr int kThreads = 6;
  constexpr int kCalls = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCalls; ++i) {
        EXPECT_OK(pool->Run([&](pqxx::connection& conn) {
          const int now = ++inside;
          int seen = max_inside.load();
          while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
          }
          pqxx::work txn(conn);
          txn.exec("UPDATE counter SET n = n + 1");
          txn.commit();
          --inside;
        }));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(max_inside.load(), 1);
  EXPECT_EQ(pool->Stats().open, 1);
  absl::StatusOr<int> n = pool->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    return txn.exec1("SELECT n FROM counter")[0].as<int>();
  });
  ASSERT_OK(n);
  EXPECT_EQ(*n, kThreads * kCalls);
}

TEST_F(PoolTest, WaitingBeyondLeaseTimeoutIsResourceExhausted) {
  absl::StatusOr<std::unique_ptr<ConnectionPool>> created = ConnectionPool::Create(
      {.url = db_->url(), .size = 1, .lease_timeout = absl::Milliseconds(50)});
  ASSERT_OK(created);
  ConnectionPool& pool = **created;
  absl::Notification holding;
  absl::Notification release;
  std::thread holder([&] {
    EXPECT_OK(pool.Run([&](pqxx::connection&) {
      holding.Notify();
      release.WaitForNotification();
    }));
  });
  holding.WaitForNotification();
  const absl::Status status = pool.Ping();
  release.Notify();
  holder.join();
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status;
  EXPECT_OK(pool.Ping());
}

TEST_F(PoolTest, TerminatedBackendIsReplaced) {
  // Another session kills our backend; the pool notices and reconnects.
  absl::StatusOr<int> pid = pool_->Run([](pqxx::connection& conn) { return conn.backendpid(); });
  ASSERT_OK(pid);
  std::unique_ptr<ConnectionPool> admin = MakePool(db_->url(), 1);
  ASSERT_OK(admin->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    txn.exec_params("SELECT pg_terminate_backend($1, 5000)", *pid);
  }));
  EXPECT_OK(pool_->Ping());
  absl::StatusOr<int> new_pid =
      pool_->Run([](pqxx::connection& conn) { return conn.backendpid(); });
  ASSERT_OK(new_pid);
  EXPECT_NE(*new_pid, *pid);
}

TEST(PoolRestartTest, SurvivesServerRestart) {
  absl::StatusOr<std::unique_ptr<testing::PrivateCluster>> cluster =
      testing::PrivateCluster::Start();
  ASSERT_OK(cluster);
  absl::StatusOr<std::unique_ptr<ConnectionPool>> created =
      ConnectionPool::Create({.url = (*cluster)->url(), .size = 2});
  ASSERT_OK(created);
  ConnectionPool& pool = **created;
  ASSERT_OK(pool.Ping());

  // Down: an error, not a crash; the broken connection is dropped.
  ASSERT_OK((*cluster)->Stop());
  const absl::Status down = pool.Ping();
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down;
  EXPECT_EQ(pool.Stats().open, 0);
  EXPECT_EQ(pool.Stats().leased, 0);

  // Up again: the same pool reconnects.
  ASSERT_OK((*cluster)->Restart());
  EXPECT_OK(pool.Ping());

  // A restart while the pool is idle costs no failed call: the dead idle connection is
  // noticed at lease time and replaced.
  ASSERT_OK((*cluster)->Restart());
  EXPECT_OK(pool.Ping());
}

}  // namespace
}  // namespace mailroom::storage
