// FindFirstMessage and the new-message notification against a real PostgreSQL: the earliest
// match at or after `since`, per mailbox, with a filter; NotFound for a missing mailbox; and
// the ids the ingest transaction announces on kMessagesChannel when it commits.

#include "storage/message_wait.h"

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/ingest_batch.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "storage/schema.h"
#include "tests/storage/migrated_database.h"
#include "tests/support/scratch_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using ::testing::ElementsAreArray;
using ::testing::Optional;

const absl::Time kBase =
    absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone());

class MessageWaitTest : public MigratedDatabaseTest {
 protected:
  // Stores one message per subject, a minute apart from kBase, in `mailbox_id`; returns ids.
  std::vector<std::string> Store(const std::vector<std::string>& subjects,
                                 const std::string& mailbox_id = std::string(kDefaultMailboxId)) {
    std::vector<NewMessage> messages(subjects.size());
    std::vector<const NewMessage*> pointers;
    std::vector<std::string> ids;
    for (size_t i = 0; i < subjects.size(); ++i) {
      NewMessage& m = messages[i];
      m.id = NewId();
      m.received_at = kBase + absl::Minutes(static_cast<int64_t>(i));
      m.subject = subjects[i];
      m.mailbox_ids = {mailbox_id};
      m.raw = "Subject: x\r\n\r\nbody\r\n";
      pointers.push_back(&m);
      ids.push_back(m.id);
    }
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      BatchInserter inserter;
      pqxx::work txn(conn);
      inserter.Insert(txn, pointers, {});
      txn.commit();
      // Announced after the COMMIT, in a transaction of its own, as IngestWriter does.
      pqxx::work announce(conn);
      inserter.NotifyNewMessages(announce, pointers);
      announce.commit();
    }));
    return ids;
  }

  absl::StatusOr<std::optional<std::string>> Find(absl::string_view mailbox,
                                                  absl::string_view query, absl::Time since) {
    absl::StatusOr<MessageFilter> filter = ParseQuery(query);
    if (!filter.ok()) return filter.status();
    return FindFirstMessage(*pool_, mailbox, *filter, since);
  }
};

TEST_F(MessageWaitTest, EarliestMatchAtOrAfterSince) {
  const std::vector<std::string> ids = Store({"alpha one", "beta", "alpha two"});
  EXPECT_THAT(*Find("", "subject:alpha", kBase), Optional(ids[0]));
  // `since` is inclusive: a message received exactly then counts.
  EXPECT_THAT(*Find("", "subject:alpha", kBase + absl::Minutes(2)), Optional(ids[2]));
  EXPECT_THAT(*Find("", "", kBase + absl::Seconds(1)), Optional(ids[1]));
  EXPECT_EQ(*Find("", "subject:alpha", kBase + absl::Minutes(3)), std::nullopt);
  EXPECT_EQ(*Find("", "subject:gamma", kBase), std::nullopt);
}

TEST_F(MessageWaitTest, MailboxScopesTheSearch) {
  const std::vector<std::string> in_default = Store({"first"});
  const std::vector<std::string> in_qa = Store({"second"}, kQaMailboxId);
  EXPECT_THAT(*Find("qa", "", kBase), Optional(in_qa[0]));
  EXPECT_THAT(*Find("default", "", kBase), Optional(in_default[0]));
  absl::StatusOr<std::optional<std::string>> missing = Find("nope", "", kBase);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

// Collects every payload on kMessagesChannel.
class Collector final : public pqxx::notification_receiver {
 public:
  Collector(pqxx::connection& conn, std::vector<std::string>& ids)
      : pqxx::notification_receiver(conn, kMessagesChannel), ids_(ids) {}
  void operator()(const std::string& payload, int /*pid*/) override {
    for (absl::string_view id : absl::StrSplit(payload, ',')) ids_.emplace_back(id);
  }

 private:
  std::vector<std::string>& ids_;
};

TEST_F(MessageWaitTest, CommittedBatchAnnouncesItsIds) {
  pqxx::connection listener(db_->url());
  std::vector<std::string> heard;
  Collector collector(listener, heard);
  // Enough ids to need more than one 8000-byte payload.
  std::vector<std::string> subjects(400, "s");
  const std::vector<std::string> ids = Store(subjects);
  for (int i = 0; i < 60 && heard.size() < ids.size(); ++i) listener.await_notification(1, 0);
  EXPECT_THAT(heard, ElementsAreArray(ids));
}

}  // namespace
}  // namespace mailroom::storage
