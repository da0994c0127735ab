// Change notifications for WatchMessages: the payload parser (pure), the triggers of
// migration 0005 against a real PostgreSQL (read flag, deletions, the cascade of a deleted
// mailbox, chunking of bulk deletes), and the watch queries of storage/message_match.h.

#include "storage/change_events.h"

#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/ingest_batch.h"
#include "storage/message_match.h"
#include "storage/schema.h"
#include "tests/storage/migrated_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

// The code and message of a StatusOr's status.
MATCHER_P(HasCode, code, "") { return arg.status().code() == code; }
MATCHER_P2(HasCodeAndMessage, code, text, "") {
  return arg.status().code() == code &&
         arg.status().message().find(text) != absl::string_view::npos;
}

constexpr char kId1[] = "0190a5c4-0000-7000-8000-000000000001";
constexpr char kId2[] = "0190a5c4-0000-7000-8000-000000000002";

TEST(ParseCreatedPayload, SplitsIds) {
  absl::StatusOr<MessageChange> change_or = ParseCreatedPayload(absl::StrCat(kId1, ",", kId2));
  ASSERT_OK(change_or.status());
  MessageChange change = *std::move(change_or);
  EXPECT_EQ(change.kind, ChangeKind::kCreated);
  EXPECT_FALSE(change.time.has_value());
  EXPECT_THAT(change.ids, ElementsAre(kId1, kId2));
}

TEST(ParseCreatedPayload, RejectsWhatIsNotAnId) {
  EXPECT_THAT(ParseCreatedPayload(""), HasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCreatedPayload(absl::StrCat(kId1, ",x")),
              HasCodeAndMessage(absl::StatusCode::kInvalidArgument, "`x`"));
}

TEST(ParseChangePayload, Updated) {
  absl::StatusOr<MessageChange> change_or =
      ParseChangePayload(absl::StrCat("u 1714557600000001 ", kId1, ",", kId2));
  ASSERT_OK(change_or.status());
  MessageChange change = *std::move(change_or);
  EXPECT_EQ(change.kind, ChangeKind::kUpdated);
  EXPECT_EQ(change.time, absl::FromUnixMicros(1714557600000001));
  EXPECT_THAT(change.ids, ElementsAre(kId1, kId2));
  EXPECT_TRUE(change.mailbox_id.empty());
}

TEST(ParseChangePayload, DeletedCarriesTheMailbox) {
  absl::StatusOr<MessageChange> change_or =
      ParseChangePayload(absl::StrCat("d 42 ", kQaMailboxId, " ", kId1, " qa"));
  ASSERT_OK(change_or.status());
  MessageChange change = *std::move(change_or);
  EXPECT_EQ(change.kind, ChangeKind::kDeleted);
  EXPECT_EQ(change.time, absl::FromUnixMicros(42));
  EXPECT_EQ(change.mailbox_id, kQaMailboxId);
  EXPECT_EQ(change.mailbox_name, "qa");
  EXPECT_THAT(change.ids, ElementsAre(kId1));
}

TEST(ParseChangePayload, TheNameIsEverythingAfterTheIds) {
  absl::StatusOr<MessageChange> change_or =
      ParseChangePayload(absl::StrCat("d 42 ", kQaMailboxId, " ", kId1, " odd name "));
  ASSERT_OK(change_or.status());
  MessageChange change = *std::move(change_or);
  EXPECT_EQ(change.mailbox_name, "odd name ");
}

TEST(ParseChangePayload, RejectsMalformedPayloads) {
  for (const std::string& payload : {
           std::string(""),
           std::string("u"),
           absl::StrCat("u 12"),
           absl::StrCat("x 12 ", kId1),
           absl::StrCat("u twelve ", kId1),
           absl::StrCat("u 12 ", kId1, ",nope"),
           absl::StrCat("u 12 ", kId1, ","),
           absl::StrCat("d 12 ", kQaMailboxId, " ", kId1),
           absl::StrCat("d 12 ", kQaMailboxId, " ", kId1, " "),
           absl::StrCat("d 12 not-a-mailbox ", kId1, " qa"),
       }) {
    EXPECT_THAT(ParseChangePayload(payload), HasCode(absl::StatusCode::kInvalidArgument))
        << payload;
  }
}

// The triggers, heard through a LISTEN connection of the test's own.
class ChangeTriggersTest : public MigratedDatabaseTest {
 protected:
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    listener_ = std::make_unique<pqxx::connection>(db_->url());
    receiver_ = std::make_unique<Receiver>(*listener_, payloads_);
  }

  // Stores `count` messages linked to every mailbox of `mailbox_ids`; returns their ids.
  std::vector<std::string> Store(int count, const std::vector<std::string>& mailbox_ids,
                                 const std::string& subject = "hello") {
    std::vector<NewMessage> messages(count);
    std::vector<const NewMessage*> pointers;
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      NewMessage& m = messages[i];
      m.id = NewId();
      m.received_at = kBase + absl::Seconds(i);
      m.subject = subject;
      m.mailbox_ids = mailbox_ids;
      m.raw = "Subject: x\r\n\r\nbody\r\n";
      pointers.push_back(&m);
      ids.push_back(m.id);
    }
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      BatchInserter inserter;
      pqxx::work txn(conn);
      inserter.Insert(txn, pointers, {});
      txn.commit();
    }));
    return ids;
  }

  void Exec(const std::string& sql) {
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      txn.exec(sql);
      txn.commit();
    }));
  }

  // The parsed notifications that have arrived: read until none comes for a second (a
  // large transaction's notifications may take several reads).
  std::vector<MessageChange> Heard() {
    while (listener_->await_notification(1, 0) > 0) {
    }
    std::vector<MessageChange> changes;
    for (const std::string& payload : payloads_) {
      EXPECT_LT(payload.size(), 8000u);
      absl::StatusOr<MessageChange> change = ParseChangePayload(payload);
      EXPECT_OK(change.status()) << payload;
      if (change.ok()) changes.push_back(*std::move(change));
    }
    payloads_.clear();
    return changes;
  }

  static const absl::Time kBase;

 private:
  class Receiver final : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection& conn, std::vector<std::string>& payloads)
        : pqxx::notification_receiver(conn, kChangesChannel), payloads_(payloads) {}
    void operator()(const std::string& payload, int /*pid*/) override {
      payloads_.push_back(payload);
    }

   private:
    std::vector<std::string>& payloads_;
  };

  std::vector<std::string> payloads_;
  std::unique_ptr<pqxx::connection> listener_;
  std::unique_ptr<Receiver> receiver_;
};

const absl::Time ChangeTriggersTest::kBase =
    absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone());

TEST_F(ChangeTriggersTest, InsertsAreNotAnnouncedByTriggers) {
  Store(3, {std::string(kDefaultMailboxId)});
  EXPECT_TRUE(Heard().empty());
}

TEST_F(ChangeTriggersTest, ReadFlagChangesAreAnnouncedOnce) {
  const std::vector<std::string> ids = Store(2, {std::string(kDefaultMailboxId)});
  Exec(absl::StrCat("UPDATE messages SET is_read = true WHERE id = '", ids[0], "'"));
  std::vector<MessageChange> heard = Heard();
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].kind, ChangeKind::kUpdated);
  EXPECT_THAT(heard[0].ids, ElementsAre(ids[0]));
  // No change of the flag, no notification.
  Exec(absl::StrCat("UPDATE messages SET is_read = true WHERE id = '", ids[0], "'"));
  EXPECT_TRUE(Heard().empty());
}

TEST_F(ChangeTriggersTest, DeletingAMessageNamesEachMailbox) {
  const std::vector<std::string> ids =
      Store(1, {std::string(kDefaultMailboxId), std::string(kQaMailboxId)});
  Exec(absl::StrCat("DELETE FROM messages WHERE id = '", ids[0], "'"));
  std::vector<MessageChange> heard = Heard();
  ASSERT_EQ(heard.size(), 2u);
  std::set<std::string> names;
  for (const MessageChange& change : heard) {
    EXPECT_EQ(change.kind, ChangeKind::kDeleted);
    EXPECT_THAT(change.ids, ElementsAre(ids[0]));
    names.insert(change.mailbox_name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"default", "qa"}));
}

// The cascade: once the mailbox row is gone its name cannot be joined, so the mailboxes
// trigger announces the links first, with the name, and the links trigger skips them.
TEST_F(ChangeTriggersTest, DeletingAMailboxAnnouncesItsMessagesOnceWithItsName) {
  const std::vector<std::string> ids =
      Store(3, {std::string(kDefaultMailboxId), std::string(kQaMailboxId)});
  Exec("DELETE FROM mailboxes WHERE name = 'qa'");
  std::vector<MessageChange> heard = Heard();
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].kind, ChangeKind::kDeleted);
  EXPECT_EQ(heard[0].mailbox_id, kQaMailboxId);
  EXPECT_EQ(heard[0].mailbox_name, "qa");
  EXPECT_THAT(heard[0].ids, UnorderedElementsAreArray(ids));
}

TEST_F(ChangeTriggersTest, ARolledBackDeleteIsNotAnnounced) {
  Store(2, {std::string(kDefaultMailboxId)});
  EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("DELETE FROM messages");
    txn.abort();
  }));
  EXPECT_TRUE(Heard().empty());
}

TEST_F(ChangeTriggersTest, BulkDeletesAreChunkedUnderThePayloadLimit) {
  const std::vector<std::string> ids = Store(1000, {std::string(kDefaultMailboxId)});
  Exec("DELETE FROM messages");
  std::vector<MessageChange> heard = Heard();
  // 200 ids per notification.
  EXPECT_EQ(heard.size(), 5u);
  std::vector<std::string> deleted;
  for (const MessageChange& change : heard) {
    deleted.insert(deleted.end(), change.ids.begin(), change.ids.end());
  }
  EXPECT_THAT(deleted, UnorderedElementsAreArray(ids));
}

class MessageMatchTest : public ChangeTriggersTest {};

TEST_F(MessageMatchTest, MatchesByIdMailboxAndQuery) {
  const std::vector<std::string> plain = Store(2, {std::string(kDefaultMailboxId)}, "plain");
  const std::vector<std::string> qa = Store(1, {std::string(kQaMailboxId)}, "special");
  std::vector<std::string> all = plain;
  all.push_back(qa[0]);
  all.push_back("not-an-id");

  absl::StatusOr<std::vector<MessageSummaryRow>> rows_or = MatchMessages(*pool_, all, {});
  ASSERT_OK(rows_or.status());
  std::vector<MessageSummaryRow> rows = *std::move(rows_or);
  EXPECT_EQ(rows.size(), 3u);

  absl::StatusOr<MessageFilter> special_or = ParseQuery("subject:special");
  ASSERT_OK(special_or.status());
  MessageFilter special = *std::move(special_or);
  {
    auto rows_or = MatchMessages(*pool_, all, {.filter = special});
    ASSERT_OK(rows_or.status());
    rows = *std::move(rows_or);
  }
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, qa[0]);
  EXPECT_THAT(rows[0].mailboxes, ElementsAre("qa"));

  {
    auto rows_or = MatchMessages(*pool_, all, {.mailbox_id = std::string(kDefaultMailboxId)});
    ASSERT_OK(rows_or.status());
    rows = *std::move(rows_or);
  }
  EXPECT_EQ(rows.size(), 2u);
  {
    auto rows_or = MatchMessages(*pool_, {}, {});
    ASSERT_OK(rows_or.status());
    rows = *std::move(rows_or);
  }
  EXPECT_TRUE(rows.empty());
}

TEST_F(MessageMatchTest, ReplayPagesOldestFirstFromSince) {
  const std::vector<std::string> ids = Store(5, {std::string(kDefaultMailboxId)});
  // Received kBase + 0..4 s; since kBase + 1 s leaves four, in pages of three.
  absl::StatusOr<std::vector<MessageSummaryRow>> first_or =
      ReplayPage(*pool_, {}, kBase + absl::Seconds(1), std::nullopt, 3);
  ASSERT_OK(first_or.status());
  std::vector<MessageSummaryRow> first = *std::move(first_or);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].id, ids[1]);
  EXPECT_EQ(first[2].id, ids[3]);
  absl::StatusOr<std::vector<MessageSummaryRow>> second_or =
      ReplayPage(*pool_, {.mailbox_id = std::string(kDefaultMailboxId)}, kBase + absl::Seconds(1),
                 ReplayCursor{.received_at = first.back().received_at, .id = first.back().id}, 3);
  ASSERT_OK(second_or.status());
  std::vector<MessageSummaryRow> second = *std::move(second_or);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, ids[4]);
}

TEST_F(MessageMatchTest, FindMailboxId) {
  absl::StatusOr<std::string> qa = FindMailboxId(*pool_, "qa");
  ASSERT_OK(qa.status());
  EXPECT_EQ(*qa, kQaMailboxId);
  EXPECT_THAT(FindMailboxId(*pool_, "nope"),
              HasCodeAndMessage(absl::StatusCode::kNotFound, "mailbox"));
}

}  // namespace
}  // namespace mailroom::storage
