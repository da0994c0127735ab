// Routing against a real PostgreSQL: the snapshot and its version (storage/routing_snapshot.h),
// the cache's reload, and the capture sink filing messages into routed mailboxes, including
// the mailbox deleted between snapshot and commit.

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/capture_sink.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "server/routing/routing_cache.h"
#include "storage/ids.h"
#include "storage/ingest_writer.h"
#include "storage/routing_snapshot.h"
#include "storage/schema.h"
#include "tests/storage/migrated_database.h"

namespace mailroom::server::routing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RoutingStorageTest : public storage::MigratedDatabaseTest {
 protected:
  void Sql(const std::string& sql) {
    ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      txn.exec(sql);
      txn.commit();
    }));
  }
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::nontransaction txn(conn);
      for (const pqxx::row& row : txn.exec(sql)) out.push_back(row[0].c_str());
    }));
    return out;
  }
};

TEST_F(RoutingStorageTest, SnapshotHasMailboxesInRoutingOrderWithTheirRulesAndUsers) {
  // The fixture made `qa` at position 1 (no rules).
  Sql(R"(INSERT INTO mailboxes (id, name, position, rules) VALUES
         (gen_random_uuid(), 'beta', -1,
          '[{"recipient": {"glob": "*@b.test"}}, {"auth_user": "ci"}]'),
         (gen_random_uuid(), 'alpha', -1, '[]'))");
  Sql(R"(INSERT INTO users (id, username, enabled, default_mailbox_id) VALUES
         (gen_random_uuid(), 'zed', false, NULL),
         (gen_random_uuid(), 'amy', true, '00000000-0000-7000-8000-0000000000aa'))");
  absl::StatusOr<storage::RoutingSnapshot> snapshot = storage::LoadRoutingSnapshot(*pool_);
  ASSERT_OK(snapshot.status());
  std::vector<std::string> names;
  for (const auto& mailbox : snapshot->mailboxes) names.push_back(mailbox.name);
  EXPECT_THAT(names, ElementsAre("alpha", "beta", "default", "qa"));
  EXPECT_TRUE(snapshot->mailboxes[0].rules_json.empty());
  ASSERT_EQ(snapshot->mailboxes[1].rules_json.size(), 2u);
  EXPECT_EQ(snapshot->mailboxes[1].rules_json[0], R"({"recipient": {"glob": "*@b.test"}})");
  EXPECT_EQ(snapshot->mailboxes[1].rules_json[1], R"({"auth_user": "ci"})");
  EXPECT_EQ(snapshot->mailboxes[1].position, -1);
  EXPECT_EQ(snapshot->mailboxes[2].id, storage::kDefaultMailboxId);
  ASSERT_EQ(snapshot->users.size(), 2u);
  EXPECT_EQ(snapshot->users[0].username, "amy");
  EXPECT_EQ(snapshot->users[0].default_mailbox_id, storage::kQaMailboxId);
  EXPECT_TRUE(snapshot->users[0].enabled);
  EXPECT_EQ(snapshot->users[1].username, "zed");
  EXPECT_EQ(snapshot->users[1].default_mailbox_id, std::nullopt);
  EXPECT_FALSE(snapshot->users[1].enabled);

  absl::StatusOr<storage::RoutingVersion> version = storage::LoadRoutingVersion(*pool_);
  ASSERT_OK(version.status());
  EXPECT_EQ(*version, snapshot->version);
  EXPECT_EQ(version->mailbox_count, 4);
  EXPECT_EQ(version->user_count, 2);
}

TEST_F(RoutingStorageTest, VersionChangesWithEveryKindOfChange) {
  auto version = [&] {
    absl::StatusOr<storage::RoutingVersion> v = storage::LoadRoutingVersion(*pool_);
    EXPECT_OK(v.status());
    return v.value_or(storage::RoutingVersion{});
  };
  const storage::RoutingVersion v0 = version();
  EXPECT_EQ(version(), v0);
  Sql("UPDATE mailboxes SET rules = '[{\"auth_user\": \"x\"}]', updated_at = now() "
      "WHERE name = 'qa'");
  const storage::RoutingVersion v1 = version();
  EXPECT_NE(v1, v0);
  Sql("INSERT INTO users (id, username) VALUES (gen_random_uuid(), 'u')");
  const storage::RoutingVersion v2 = version();
  EXPECT_NE(v2, v1);
  Sql("DELETE FROM users");
  const storage::RoutingVersion v3 = version();
  EXPECT_NE(v3, v2);
  Sql("DELETE FROM mailboxes WHERE name = 'qa'");
  EXPECT_NE(version(), v3);
}

class CaptureRoutingTest : public RoutingStorageTest {
 protected:
  void SetUp() override {
    RoutingStorageTest::SetUp();
    if (HasFatalFailure()) return;
    Sql(R"(UPDATE mailboxes SET rules = '[{"recipient": {"domain": "qa.test"}}]'
           WHERE name = 'qa')");
    Sql(R"(INSERT INTO mailboxes (id, name, position, rules) VALUES
           (gen_random_uuid(), 'dev', 2, '[{"recipient": {"glob": "*@dev.test"}}]'))");
    absl::StatusOr<std::unique_ptr<storage::IngestWriter>> writer =
        storage::IngestWriter::Start({.url = db_->url(), .writers = 1});
    ASSERT_OK(writer.status());
    writer_ = *std::move(writer);
    cache_ = std::make_unique<RoutingCache>(pool_.get(), RoutingCacheOptions{}, &logger_);
    // No Start(): the table changes only when the test reloads it.
    ASSERT_OK(cache_->Reload());
    config::SmtpConfig smtp;
    absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Start("");  // no HTTP server
    ASSERT_OK(metrics.status());
    metrics_ = *std::move(metrics);
    sink_ = std::make_unique<CaptureSink>(writer_.get(), smtp, metrics_.get(), cache_.get());
  }
  void TearDown() override {
    sink_.reset();
    if (writer_ != nullptr) writer_->Stop();
  }

  smtp::DeliveryResult Deliver(std::vector<std::string> recipients) {
    auto message = std::make_shared<smtp::ReceivedMessage>();
    message->id = storage::NewId();
    message->session.id = storage::NewId();
    message->session.listener = "smtp";
    message->session.client_address = "127.0.0.1";
    message->session.ehlo_name = "client.test";
    message->envelope.mail_from = "sender@example.test";
    for (std::string& address : recipients) {
      smtp::Recipient recipient;
      recipient.address = std::move(address);
      message->envelope.recipients.push_back(std::move(recipient));
    }
    message->raw = "From: a@example.test\r\nSubject: s\r\n\r\nbody\r\n";
    message->received_at = absl::Now();
    last_id_ = message->id;
    absl::Notification done;
    smtp::DeliveryResult result(absl::UnknownError("not run"));
    sink_->Deliver(std::move(message), [&](smtp::DeliveryResult r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  std::vector<std::string> MailboxesOfLast() {
    return Column(
        "SELECT b.name FROM message_mailboxes mm JOIN mailboxes b ON b.id = "
        "mm.mailbox_id WHERE mm.message_id = '" +
        last_id_ + "' ORDER BY b.name");
  }

  Logger logger_{LogLevel::kError, LogFormat::kText};
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<storage::IngestWriter> writer_;
  std::unique_ptr<RoutingCache> cache_;
  std::unique_ptr<CaptureSink> sink_;
  std::string last_id_;
};

TEST_F(CaptureRoutingTest, FilesIntoEachRoutedMailboxOnceAndRecordsTheDecisions) {
  const smtp::DeliveryResult result = Deliver({"a@dev.test", "b@qa.test", "c@qa.test"});
  ASSERT_OK(result.status);
  EXPECT_THAT(result.transcript_lines,
              ElementsAre("recipient a@dev.test routed to `dev` by rule 1: recipient glob "
                          "`*@dev.test`",
                          "recipient b@qa.test routed to `qa` by rule 1: recipient domain "
                          "`qa.test`",
                          "recipient c@qa.test routed to `qa` by rule 1: recipient domain "
                          "`qa.test`"));
  EXPECT_THAT(MailboxesOfLast(), ElementsAre("dev", "qa"));
  EXPECT_THAT(Column("SELECT d->>'mailbox' FROM messages, jsonb_array_elements(routing) d "
                     "WHERE id = '" +
                     last_id_ + "'"),
              ElementsAre("dev", "qa", "qa"));
}

TEST_F(CaptureRoutingTest, MailboxDeletedBeforeCommitFallsBackToDefault) {
  // The cache still has `dev`; the database no longer does.
  Sql("DELETE FROM mailboxes WHERE name = 'dev'");
  const smtp::DeliveryResult result = Deliver({"a@dev.test", "b@other.test"});
  ASSERT_OK(result.status);
  EXPECT_THAT(
      result.transcript_lines,
      ElementsAre("recipient a@dev.test routed to `default` instead of `dev`: a mailbox the "
                  "message was routed to was deleted before it was stored",
                  "recipient b@other.test routed to `default`: no rule matched"));
  EXPECT_THAT(MailboxesOfLast(), ElementsAre("default"));
  EXPECT_THAT(Column("SELECT d->>'reason' FROM messages, jsonb_array_elements(routing) d "
                     "WHERE id = '" +
                     last_id_ + "'"),
              ElementsAre("REASON_FALLBACK", "REASON_FALLBACK"));
}

TEST_F(CaptureRoutingTest, ReloadPicksUpChangedRules) {
  ASSERT_OK(Deliver({"x@late.test"}).status);
  EXPECT_THAT(MailboxesOfLast(), ElementsAre("default"));
  Sql(R"(UPDATE mailboxes SET rules = '[{"recipient": {"exact": "X@LATE.test"}}]',
         updated_at = now() WHERE name = 'dev')");
  ASSERT_OK(cache_->Reload());
  const smtp::DeliveryResult result = Deliver({"x@late.test"});
  ASSERT_OK(result.status);
  EXPECT_THAT(MailboxesOfLast(), ElementsAre("dev"));
  EXPECT_THAT(result.transcript_lines, ElementsAre(HasSubstr("recipient exact `X@LATE.test`")));
}

TEST_F(CaptureRoutingTest, PollingThreadAppliesChanges) {
  cache_->Start();
  Sql(R"(UPDATE mailboxes SET rules = '[{"recipient": {"exact": "p@poll.test"}}]',
         updated_at = now() WHERE name = 'dev')");
  // Wait (without a time limit of our own: ctest's applies) until the poller has seen it.
  for (;;) {
    RouteResult route = cache_->Current()->Route({}, {"p@poll.test"});
    if (route.decisions[0].mailbox() == "dev") break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  cache_->Stop();
}

}  // namespace
}  // namespace mailroom::server::routing
