// The mailbox repository against a real PostgreSQL: create, get, list in routing order with
// pages, update, delete with and without force, counts, the routing NOTIFY, and the
// concurrent-safe upsert of config-declared mailboxes.

#include "storage/mailbox_store.h"

#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/schema.h"
#include "tests/storage/migrated_database.h"

namespace mailroom::storage {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class MailboxStoreTest : public MigratedDatabaseTest {
 protected:
  MailboxRow Create(const std::string& name, int position = 0) {
    absl::StatusOr<MailboxRow> row =
        CreateMailbox(*pool_, {.name = name, .description = "", .position = position});
    EXPECT_OK(row);
    return row.ok() ? *row : MailboxRow{};
  }

  // Stores a message (read or not) linked to each mailbox id given; returns its id.
  std::string StoreMessage(const std::vector<std::string>& mailbox_ids, bool read = false) {
    std::string id;
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      id = txn.exec_params1(
                  "INSERT INTO messages (id, received_at, envelope_from, size_bytes, raw, "
                  "is_read) VALUES (gen_random_uuid(), now(), 'a@example.com', 1, '\\x41', $1) "
                  "RETURNING id::text",
                  read)[0]
               .as<std::string>();
      for (const std::string& mailbox : mailbox_ids) {
        txn.exec_params(
            "INSERT INTO message_mailboxes (mailbox_id, message_id, received_at) "
            "SELECT $1::uuid, id, received_at FROM messages WHERE id = $2::uuid",
            mailbox, id);
      }
      txn.commit();
    }));
    return id;
  }

  // Returns the value of a one-row, one-column query (NULL as "NULL").
  std::string Query(const std::string& sql) {
    std::string value;
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      const pqxx::row row = txn.exec1(sql);
      value = row[0].is_null() ? "NULL" : row[0].as<std::string>();
      txn.commit();
    }));
    return value;
  }

  std::vector<std::string> ListNames(int page_size) {
    std::vector<std::string> names;
    std::string token;
    do {
      absl::StatusOr<MailboxPage> page = ListMailboxes(*pool_, page_size, token);
      EXPECT_OK(page);
      if (!page.ok()) break;
      EXPECT_LE(static_cast<int>(page->mailboxes.size()), page_size);
      for (const MailboxRow& row : page->mailboxes) names.push_back(row.name);
      token = page->next_page_token;
    } while (!token.empty());
    return names;
  }
};

TEST_F(MailboxStoreTest, CreatesAndGetsByIdAndByName) {
  absl::StatusOr<MailboxRow> created = CreateMailbox(
      *pool_, {.name = "staging.eu-1_a",
               .description = "Staging, EU",
               .position = -3,
               .max_messages = 500,
               .rules_json = R"([{"recipient": {"glob": "*@staging.example.com"}}])"});
  ASSERT_OK(created);
  EXPECT_TRUE(IsValidId(created->id));
  EXPECT_EQ(created->name, "staging.eu-1_a");
  EXPECT_EQ(created->description, "Staging, EU");
  EXPECT_EQ(created->position, -3);
  EXPECT_EQ(created->max_messages, 500);
  EXPECT_EQ(created->rules_json, R"([{"recipient": {"glob": "*@staging.example.com"}}])");
  EXPECT_EQ(created->message_count, 0);
  EXPECT_EQ(created->created_at, created->updated_at);

  absl::StatusOr<MailboxRow> by_id = GetMailbox(*pool_, MailboxKey::ById(created->id));
  ASSERT_OK(by_id);
  EXPECT_EQ(by_id->name, "staging.eu-1_a");
  EXPECT_EQ(by_id->created_at, created->created_at);
  absl::StatusOr<MailboxRow> by_name = GetMailbox(*pool_, MailboxKey::ByName("staging.eu-1_a"));
  ASSERT_OK(by_name);
  EXPECT_EQ(by_name->id, created->id);
  EXPECT_EQ(by_name->rules_json, created->rules_json);

  absl::StatusOr<MailboxRow> fallback =
      GetMailbox(*pool_, MailboxKey::ById(std::string(kDefaultMailboxId)));
  ASSERT_OK(fallback);
  EXPECT_EQ(fallback->name, "default");
  EXPECT_EQ(fallback->rules_json, "[]");
}

TEST_F(MailboxStoreTest, GetReportsMissingAndMalformedKeys) {
  EXPECT_EQ(GetMailbox(*pool_, MailboxKey::ByName("nope")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      GetMailbox(*pool_, MailboxKey::ById("01890000-0000-7000-8000-000000000000")).status().code(),
      absl::StatusCode::kNotFound);
  absl::Status malformed = GetMailbox(*pool_, MailboxKey::ById("qa")).status();
  EXPECT_EQ(malformed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(malformed.message()), StartsWith("id: "));
  EXPECT_EQ(GetMailbox(*pool_, MailboxKey{}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MailboxStoreTest, DuplicateNameIsAlreadyExists) {
  absl::Status status = CreateMailbox(*pool_, {.name = "qa"}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(status.message()), StartsWith("mailbox.name: "));
  EXPECT_EQ(CreateMailbox(*pool_, {.name = "default"}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(MailboxStoreTest, RejectsInvalidValuesNamingTheField) {
  const auto field_of = [&](const MailboxValues& values) {
    absl::Status status = CreateMailbox(*pool_, values).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    return std::string(status.message().substr(0, status.message().find(':')));
  };
  EXPECT_EQ(field_of({.name = ""}), "mailbox.name");
  EXPECT_EQ(field_of({.name = "Upper"}), "mailbox.name");
  EXPECT_EQ(field_of({.name = "with space"}), "mailbox.name");
  EXPECT_EQ(field_of({.name = "-dash-first"}), "mailbox.name");
  EXPECT_EQ(field_of({.name = ".dot-first"}), "mailbox.name");
  EXPECT_EQ(field_of({.name = "caf\xC3\xA9"}), "mailbox.name");
  EXPECT_EQ(field_of({.name = std::string(65, 'a')}), "mailbox.name");
  EXPECT_EQ(field_of({.name = "ok", .description = std::string(1025, 'd')}), "mailbox.description");
  EXPECT_EQ(field_of({.name = "ok", .max_messages = -1}), "mailbox.max_messages");
  EXPECT_EQ(field_of({.name = "ok", .max_messages = int64_t{1} << 31}), "mailbox.max_messages");
  EXPECT_EQ(field_of({.name = "ok", .rules_json = R"({"recipient": {}})"}), "mailbox.rules");

  // The limits themselves are allowed; the description counts characters, not bytes.
  std::string accents;
  for (int i = 0; i < 1024; ++i) accents += "\xC3\xA9";
  EXPECT_OK(CreateMailbox(*pool_, {.name = std::string(64, 'a'),
                                   .description = accents,
                                   .max_messages = kMaxMailboxMaxMessages}));
  EXPECT_OK(CreateMailbox(*pool_, {.name = "0-starts.with_digit"}));
}

TEST_F(MailboxStoreTest, ZeroMaxMessagesIsStoredAsNull) {
  const MailboxRow row = Create("limits");
  const std::string column =
      absl::StrCat("SELECT max_messages FROM mailboxes WHERE id = '", row.id, "'");
  EXPECT_EQ(Query(column), "NULL");
  absl::StatusOr<MailboxRow> limited =
      UpdateMailbox(*pool_, MailboxKey::ById(row.id), {.max_messages = 7});
  ASSERT_OK(limited);
  EXPECT_EQ(limited->max_messages, 7);
  EXPECT_EQ(Query(column), "7");
  absl::StatusOr<MailboxRow> unlimited =
      UpdateMailbox(*pool_, MailboxKey::ById(row.id), {.max_messages = 0});
  ASSERT_OK(unlimited);
  EXPECT_EQ(unlimited->max_messages, 0);
  EXPECT_EQ(Query(column), "NULL");
}

TEST_F(MailboxStoreTest, ListsInRoutingOrderWithDefaultLast) {
  Create("zeta", -1);
  Create("alpha", 5);
  Create("beta", 0);
  Create("a-b", 0);
  Create("a.b", 0);
  Create("a_b", 0);
  ASSERT_OK(UpdateMailbox(*pool_, MailboxKey::ByName("default"), {.position = -100}));
  // Byte order between names: '-' < '.' < digits < '_' < letters.
  const std::vector<std::string> expected = {"zeta", "a-b", "a.b",   "a_b",
                                             "beta", "qa",  "alpha", "default"};
  EXPECT_EQ(ListNames(1000), expected);
  EXPECT_EQ(ListNames(1), expected);
  EXPECT_EQ(ListNames(3), expected);
  EXPECT_EQ(ListNames(8), expected);

  absl::StatusOr<MailboxPage> all = ListMailboxes(*pool_, 0, "");
  ASSERT_OK(all);
  EXPECT_EQ(all->mailboxes.size(), expected.size());
  EXPECT_TRUE(all->next_page_token.empty());
}

TEST_F(MailboxStoreTest, PagesAreKeysetBased) {
  Create("b", 0);
  Create("d", 0);
  absl::StatusOr<MailboxPage> first = ListMailboxes(*pool_, 2, "");
  ASSERT_OK(first);
  ASSERT_EQ(first->mailboxes.size(), 2u);
  EXPECT_EQ(first->mailboxes[1].name, "d");
  // Created between two pages: one before the cursor, one after it.
  Create("a", 0);
  Create("c", 1);
  absl::StatusOr<MailboxPage> second = ListMailboxes(*pool_, 2, first->next_page_token);
  ASSERT_OK(second);
  ASSERT_EQ(second->mailboxes.size(), 2u);
  EXPECT_EQ(second->mailboxes[0].name, "c");
  EXPECT_EQ(second->mailboxes[1].name, "qa");
  absl::StatusOr<MailboxPage> last = ListMailboxes(*pool_, 2, second->next_page_token);
  ASSERT_OK(last);
  ASSERT_EQ(last->mailboxes.size(), 1u);
  EXPECT_EQ(last->mailboxes[0].name, "default");
  EXPECT_TRUE(last->next_page_token.empty());
}

TEST_F(MailboxStoreTest, RejectsBadPageSizeAndToken) {
  EXPECT_EQ(ListMailboxes(*pool_, -1, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ListMailboxes(*pool_, 1001, "").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<MailboxPage> page = ListMailboxes(*pool_, 1, "");
  ASSERT_OK(page);
  std::string edited = page->next_page_token;
  edited[edited.size() / 2] = edited[edited.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& token : {std::string("garbage!"), std::string("AAAA"), edited}) {
    absl::Status status = ListMailboxes(*pool_, 1, token).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(std::string(status.message()), StartsWith("page_token: "));
  }
}

TEST_F(MailboxStoreTest, UpdatesTheFieldsGivenAndBumpsUpdateTime) {
  const MailboxRow row = Create("team");
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params("UPDATE mailboxes SET updated_at = '2020-01-01Z' WHERE id = $1::uuid", row.id);
    txn.commit();
  }));
  absl::StatusOr<MailboxRow> updated =
      UpdateMailbox(*pool_, MailboxKey::ByName("team"),
                    {.name = "team-b",
                     .description = "B team",
                     .position = 9,
                     .rules_json = R"([{"auth_user": "ci-*"}, {"source": {"ehlo_name": "x"}}])"});
  ASSERT_OK(updated);
  EXPECT_EQ(updated->id, row.id);
  EXPECT_EQ(updated->name, "team-b");
  EXPECT_EQ(updated->description, "B team");
  EXPECT_EQ(updated->position, 9);
  EXPECT_EQ(updated->max_messages, 0);
  EXPECT_EQ(updated->created_at, row.created_at);
  EXPECT_GT(updated->updated_at, absl::FromCivil(absl::CivilDay(2020, 1, 2), absl::UTCTimeZone()));
  EXPECT_EQ(Query(absl::StrCat("SELECT rules = '[{\"auth_user\": \"ci-*\"}, {\"source\": "
                               "{\"ehlo_name\": \"x\"}}]'::jsonb FROM mailboxes WHERE id = '",
                               row.id, "'")),
            "t");

  // Only the description: the rest stays.
  absl::StatusOr<MailboxRow> again =
      UpdateMailbox(*pool_, MailboxKey::ById(row.id), {.description = ""});
  ASSERT_OK(again);
  EXPECT_EQ(again->name, "team-b");
  EXPECT_EQ(again->position, 9);
  EXPECT_EQ(again->description, "");
  EXPECT_NE(again->rules_json, "[]");
  absl::StatusOr<MailboxRow> cleared =
      UpdateMailbox(*pool_, MailboxKey::ById(row.id), {.rules_json = "[]"});
  ASSERT_OK(cleared);
  EXPECT_EQ(cleared->rules_json, "[]");
}

TEST_F(MailboxStoreTest, UpdateErrors) {
  Create("other");
  EXPECT_EQ(UpdateMailbox(*pool_, MailboxKey::ByName("nope"), {.position = 1}).status().code(),
            absl::StatusCode::kNotFound);
  absl::Status taken = UpdateMailbox(*pool_, MailboxKey::ByName("other"), {.name = "qa"}).status();
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(taken.message()), StartsWith("mailbox.name: "));
  EXPECT_EQ(UpdateMailbox(*pool_, MailboxKey::ByName("other"), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status bad = UpdateMailbox(*pool_, MailboxKey::ByName("other"), {.name = "Bad"}).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), StartsWith("mailbox.name: "));
  EXPECT_EQ(
      UpdateMailbox(*pool_, MailboxKey::ByName("other"), {.max_messages = -5}).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(MailboxStoreTest, DefaultMailboxCannotBeRenamedGetRulesOrBeDeleted) {
  const MailboxKey fallback = MailboxKey::ByName("default");
  absl::Status rename = UpdateMailbox(*pool_, fallback, {.name = "fallback"}).status();
  EXPECT_EQ(rename.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rename.message()), StartsWith("mailbox.name: "));
  absl::Status rules = UpdateMailbox(*pool_, MailboxKey::ById(std::string(kDefaultMailboxId)),
                                     {.rules_json = R"([{"auth_user": "x"}])"})
                           .status();
  EXPECT_EQ(rules.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rules.message()), StartsWith("mailbox.rules: "));
  absl::Status upsert_rules =
      UpsertMailbox(*pool_, {.name = "default", .rules_json = R"([{"auth_user": "x"}])"}).status();
  EXPECT_EQ(upsert_rules.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DeleteMailbox(*pool_, fallback, /*force=*/true).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DeleteMailbox(*pool_, MailboxKey::ById(std::string(kDefaultMailboxId)), false)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);

  // What it does allow: its own name, no rules, and the other fields.
  absl::StatusOr<MailboxRow> changed = UpdateMailbox(
      *pool_, fallback,
      {.name = "default", .description = "catch-all", .position = 3, .rules_json = " [ ] "});
  ASSERT_OK(changed);
  EXPECT_EQ(changed->description, "catch-all");
  EXPECT_EQ(changed->name, "default");
  EXPECT_EQ(Query("SELECT count(*) FROM mailboxes WHERE name = 'default'"), "1");
}

TEST_F(MailboxStoreTest, CountsMessagesAndUnread) {
  const std::string fallback(kDefaultMailboxId);
  StoreMessage({kQaMailboxId});
  StoreMessage({kQaMailboxId, fallback}, /*read=*/true);
  StoreMessage({kQaMailboxId});
  StoreMessage({fallback});
  absl::StatusOr<MailboxRow> qa = GetMailbox(*pool_, MailboxKey::ByName("qa"));
  ASSERT_OK(qa);
  EXPECT_EQ(qa->message_count, 3);
  EXPECT_EQ(qa->unread_count, 2);
  absl::StatusOr<MailboxPage> page = ListMailboxes(*pool_, 10, "");
  ASSERT_OK(page);
  ASSERT_EQ(page->mailboxes.size(), 2u);
  EXPECT_EQ(page->mailboxes[0].message_count, 3);
  EXPECT_EQ(page->mailboxes[1].name, "default");
  EXPECT_EQ(page->mailboxes[1].message_count, 2);
  EXPECT_EQ(page->mailboxes[1].unread_count, 1);
}

TEST_F(MailboxStoreTest, DeleteNeedsForceWhenTheMailboxHoldsMessages) {
  const std::string fallback(kDefaultMailboxId);
  const std::string only_qa = StoreMessage({kQaMailboxId});
  const std::string shared = StoreMessage({kQaMailboxId, fallback});
  const std::string elsewhere = StoreMessage({fallback});
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO users (id, username, default_mailbox_id) VALUES (gen_random_uuid(), 'ann', "
        "$1::uuid)",
        std::string(kQaMailboxId));
    txn.commit();
  }));

  absl::Status refused = DeleteMailbox(*pool_, MailboxKey::ByName("qa"), false).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("force"));
  EXPECT_EQ(Query("SELECT count(*) FROM message_mailboxes"), "4");

  absl::StatusOr<MailboxDeletion> deleted =
      DeleteMailbox(*pool_, MailboxKey::ById(kQaMailboxId), true);
  ASSERT_OK(deleted);
  EXPECT_EQ(deleted->messages_unlinked, 2);
  EXPECT_EQ(deleted->messages_deleted, 1);
  EXPECT_EQ(Query("SELECT count(*) FROM mailboxes WHERE name = 'qa'"), "0");
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM messages WHERE id = '", only_qa, "'")), "0");
  EXPECT_EQ(Query("SELECT string_agg(message_id::text, ',' ORDER BY message_id) FROM "
                  "message_mailboxes"),
            shared < elsewhere ? absl::StrCat(shared, ",", elsewhere)
                               : absl::StrCat(elsewhere, ",", shared));
  EXPECT_EQ(Query("SELECT default_mailbox_id FROM users WHERE username = 'ann'"), "NULL");
  EXPECT_EQ(DeleteMailbox(*pool_, MailboxKey::ByName("qa"), true).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(MailboxStoreTest, EmptyMailboxIsDeletedWithoutForce) {
  Create("empty");
  absl::StatusOr<MailboxDeletion> deleted =
      DeleteMailbox(*pool_, MailboxKey::ByName("empty"), false);
  ASSERT_OK(deleted);
  EXPECT_EQ(deleted->messages_unlinked, 0);
  EXPECT_EQ(GetMailbox(*pool_, MailboxKey::ByName("empty")).status().code(),
            absl::StatusCode::kNotFound);
}

// Collects the payloads heard on the routing channel.
class RoutingListener final : public pqxx::notification_receiver {
 public:
  RoutingListener(pqxx::connection& conn, std::vector<std::string>& heard)
      : pqxx::notification_receiver(conn, kRoutingChannel), heard_(heard) {}
  void operator()(const std::string& payload, int /*pid*/) override { heard_.push_back(payload); }

 private:
  std::vector<std::string>& heard_;
};

TEST_F(MailboxStoreTest, EveryCommittedChangeNotifiesRouting) {
  pqxx::connection conn(db_->url());
  std::vector<std::string> heard;
  RoutingListener listener(conn, heard);
  const auto heard_after = [&](size_t expected) {
    for (int i = 0; i < 30 && heard.size() < expected; ++i) conn.await_notification(1, 0);
    return heard.size();
  };
  ASSERT_OK(CreateMailbox(*pool_, {.name = "n1"}));
  EXPECT_EQ(heard_after(1), 1u);
  ASSERT_OK(UpdateMailbox(*pool_, MailboxKey::ByName("n1"), {.position = 4}));
  EXPECT_EQ(heard_after(2), 2u);
  ASSERT_OK(UpsertMailbox(*pool_, {.name = "n2"}));
  EXPECT_EQ(heard_after(3), 3u);
  ASSERT_OK(DeleteMailbox(*pool_, MailboxKey::ByName("n1"), false));
  EXPECT_EQ(heard_after(4), 4u);
  // Failed and no-op changes are silent: the next notification heard is the next change's.
  EXPECT_FALSE(CreateMailbox(*pool_, {.name = "n2"}).ok());
  EXPECT_FALSE(UpdateMailbox(*pool_, MailboxKey::ByName("n2"), {.name = "qa"}).ok());
  EXPECT_FALSE(DeleteMailbox(*pool_, MailboxKey::ByName("default"), true).ok());
  ASSERT_OK(UpsertMailbox(*pool_, {.name = "n2"}));
  ASSERT_OK(UpdateMailbox(*pool_, MailboxKey::ByName("n2"), {.description = "last"}));
  EXPECT_EQ(heard_after(5), 5u);
  conn.await_notification(0, 100000);
  EXPECT_EQ(heard.size(), 5u);
  EXPECT_THAT(heard, Each("mailboxes"));
}

TEST_F(MailboxStoreTest, UpsertCreatesUpdatesAndLeavesAlone) {
  const MailboxValues values = {.name = "declared",
                                .description = "from the config file",
                                .position = 2,
                                .max_messages = 10,
                                .rules_json = R"([{"recipient": {"domain": "example.org"}}])"};
  absl::StatusOr<UpsertedMailbox> created = UpsertMailbox(*pool_, values);
  ASSERT_OK(created);
  EXPECT_EQ(created->outcome, UpsertOutcome::kCreated);
  EXPECT_EQ(created->mailbox.max_messages, 10);

  absl::StatusOr<UpsertedMailbox> same = UpsertMailbox(*pool_, values);
  ASSERT_OK(same);
  EXPECT_EQ(same->outcome, UpsertOutcome::kUnchanged);
  EXPECT_EQ(same->mailbox.id, created->mailbox.id);
  EXPECT_EQ(same->mailbox.updated_at, created->mailbox.updated_at);

  MailboxValues changed = values;
  changed.max_messages = 0;
  changed.rules_json = "[]";
  absl::StatusOr<UpsertedMailbox> updated = UpsertMailbox(*pool_, changed);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->outcome, UpsertOutcome::kUpdated);
  EXPECT_EQ(updated->mailbox.id, created->mailbox.id);
  EXPECT_EQ(updated->mailbox.max_messages, 0);
  EXPECT_EQ(updated->mailbox.rules_json, "[]");
  EXPECT_EQ(Query("SELECT count(*) FROM mailboxes WHERE name = 'declared'"), "1");

  // `default` can be declared too (description, position, retention), without rules.
  absl::StatusOr<UpsertedMailbox> fallback =
      UpsertMailbox(*pool_, {.name = "default", .description = "declared", .position = 1});
  ASSERT_OK(fallback);
  EXPECT_EQ(fallback->outcome, UpsertOutcome::kUpdated);
  EXPECT_EQ(fallback->mailbox.id, kDefaultMailboxId);
  EXPECT_EQ(UpsertMailbox(*pool_, {.name = "Bad"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MailboxStoreTest, ConcurrentUpsertsOfTheSameMailboxBothSucceedOnce) {
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = absl::StrCat("replica-", round);
    // Odd rounds: the two replicas disagree on the description (a config rollout).
    const MailboxValues first = {.name = name, .description = "v1"};
    const MailboxValues second = {.name = name, .description = round % 2 == 0 ? "v1" : "v2"};
    absl::Barrier* start = new absl::Barrier(2);
    absl::StatusOr<UpsertedMailbox> results[2] = {absl::UnknownError(""), absl::UnknownError("")};
    std::thread a([&] {
      if (start->Block()) delete start;
      results[0] = UpsertMailbox(*pool_, first);
    });
    std::thread b([&] {
      if (start->Block()) delete start;
      results[1] = UpsertMailbox(*pool_, second);
    });
    a.join();
    b.join();
    ASSERT_OK(results[0]);
    ASSERT_OK(results[1]);
    EXPECT_EQ(results[0]->mailbox.id, results[1]->mailbox.id);
    std::multiset<UpsertOutcome> outcomes = {results[0]->outcome, results[1]->outcome};
    EXPECT_EQ(outcomes.count(UpsertOutcome::kCreated), 1u) << name;
    if (round % 2 == 0) {
      EXPECT_EQ(outcomes.count(UpsertOutcome::kUnchanged), 1u) << name;
    }
    EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM mailboxes WHERE name = '", name, "'")), "1");
  }
}

}  // namespace
}  // namespace mailroom::storage
