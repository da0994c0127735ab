// The users table against a real PostgreSQL: create, get, list with keyset pages, update,
// delete, the AUTH lookup, the idempotent upsert of config-declared users (also from many
// threads at once) and the NOTIFY every change sends.

#include "storage/user_store.h"

#include <pqxx/notification>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "tests/storage/migrated_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PasswordMaterial Material(absl::string_view tag) {
  return PasswordMaterial{.hash = absl::StrCat("$scrypt$fake$", tag),
                          .cram_md5_verifier = std::string(32, tag.empty() ? 'x' : tag[0])};
}

NewUser User(std::string name, std::string mailbox = "") {
  return NewUser{.username = std::move(name),
                 .password = Material("pw"),
                 .default_mailbox = std::move(mailbox)};
}

std::vector<std::string> Names(const std::vector<UserRow>& users) {
  std::vector<std::string> names;
  for (const UserRow& user : users) names.push_back(user.username);
  return names;
}

class UserStoreTest : public MigratedDatabaseTest {};

TEST_F(UserStoreTest, CreatesAndGetsByIdAndUsername) {
  absl::StatusOr<UserRow> created = CreateUser(*pool_, User("ann", "qa"));
  ASSERT_OK(created.status());
  EXPECT_TRUE(IsValidId(created->id));
  EXPECT_EQ(created->username, "ann");
  EXPECT_EQ(created->default_mailbox, "qa");
  EXPECT_TRUE(created->enabled);
  EXPECT_EQ(created->created_at, created->updated_at);

  absl::StatusOr<UserRow> by_id = GetUser(*pool_, {.id = created->id});
  ASSERT_OK(by_id.status());
  EXPECT_EQ(by_id->username, "ann");
  EXPECT_EQ(by_id->created_at, created->created_at);
  absl::StatusOr<UserRow> by_name = GetUser(*pool_, {.username = "ann"});
  ASSERT_OK(by_name.status());
  EXPECT_EQ(by_name->id, created->id);

  absl::StatusOr<UserCredentials> credentials = GetUserCredentials(*pool_, "ann");
  ASSERT_OK(credentials.status());
  EXPECT_EQ(credentials->id, created->id);
  EXPECT_EQ(credentials->password_hash, "$scrypt$fake$pw");
  EXPECT_EQ(credentials->cram_md5_verifier, std::string(32, 'p'));
  EXPECT_TRUE(credentials->enabled);
}

TEST_F(UserStoreTest, UsernamesAreCaseSensitive) {
  ASSERT_OK(CreateUser(*pool_, User("ann")).status());
  ASSERT_OK(CreateUser(*pool_, User("Ann")).status());
  EXPECT_TRUE(absl::IsNotFound(GetUserCredentials(*pool_, "ANN").status()));
}

TEST_F(UserStoreTest, RefusesDuplicateUsername) {
  ASSERT_OK(CreateUser(*pool_, User("ann")).status());
  absl::StatusOr<UserRow> again = CreateUser(*pool_, User("ann"));
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  EXPECT_EQ(again.status().message(), "user.username: a user named `ann` already exists");
}

TEST_F(UserStoreTest, RefusesUnknownDefaultMailbox) {
  absl::StatusOr<UserRow> created = CreateUser(*pool_, User("ann", "nope"));
  EXPECT_TRUE(absl::IsInvalidArgument(created.status())) << created.status();
  EXPECT_EQ(created.status().message(), "user.default_mailbox: no mailbox named `nope`");
  EXPECT_TRUE(absl::IsNotFound(GetUser(*pool_, {.username = "ann"}).status()));
}

TEST_F(UserStoreTest, DeletedDefaultMailboxReadsAsNone) {
  ASSERT_OK(CreateUser(*pool_, User("ann", "qa")).status());
  ASSERT_OK(pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("DELETE FROM mailboxes WHERE name = 'qa'");
    txn.commit();
  }));
  absl::StatusOr<UserRow> user = GetUser(*pool_, {.username = "ann"});
  ASSERT_OK(user.status());
  EXPECT_EQ(user->default_mailbox, "");
}

TEST_F(UserStoreTest, GetReportsMissingAndMalformed) {
  absl::StatusOr<UserRow> missing = GetUser(*pool_, {.username = "ghost"});
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_THAT(missing.status().message(), HasSubstr("ghost"));
  EXPECT_TRUE(absl::IsNotFound(GetUser(*pool_, {.id = NewId()}).status()));
  absl::StatusOr<UserRow> malformed = GetUser(*pool_, {.id = "not-a-uuid"});
  EXPECT_TRUE(absl::IsInvalidArgument(malformed.status()));
  EXPECT_THAT(malformed.status().message(), HasSubstr("id: not a UUID"));
}

TEST_F(UserStoreTest, ListsInUsernameOrderWithKeysetPages) {
  for (const char* name : {"dave", "bob", "erin", "ann", "carol"}) {
    ASSERT_OK(CreateUser(*pool_, User(name)).status());
  }
  absl::StatusOr<UserPage> first = ListUsers(*pool_, {.page_size = 2});
  ASSERT_OK(first.status());
  EXPECT_THAT(Names(first->users), ElementsAre("ann", "bob"));
  ASSERT_FALSE(first->next_page_token.empty());

  // Inserted before the cursor while paging: neither repeated nor shifting the next page.
  ASSERT_OK(CreateUser(*pool_, User("aaron")).status());
  absl::StatusOr<UserPage> second =
      ListUsers(*pool_, {.page_size = 2, .page_token = first->next_page_token});
  ASSERT_OK(second.status());
  EXPECT_THAT(Names(second->users), ElementsAre("carol", "dave"));
  absl::StatusOr<UserPage> third =
      ListUsers(*pool_, {.page_size = 2, .page_token = second->next_page_token});
  ASSERT_OK(third.status());
  EXPECT_THAT(Names(third->users), ElementsAre("erin"));
  EXPECT_EQ(third->next_page_token, "");

  absl::StatusOr<UserPage> all = ListUsers(*pool_, {});
  ASSERT_OK(all.status());
  EXPECT_EQ(all->users.size(), 6u);
  EXPECT_EQ(all->next_page_token, "");
}

TEST_F(UserStoreTest, ListRefusesBadTokensAndSizes) {
  absl::StatusOr<UserPage> garbage = ListUsers(*pool_, {.page_token = "garbage!"});
  EXPECT_TRUE(absl::IsInvalidArgument(garbage.status()));
  EXPECT_THAT(garbage.status().message(), HasSubstr("page_token:"));

  ASSERT_OK(CreateUser(*pool_, User("ann")).status());
  ASSERT_OK(CreateUser(*pool_, User("bob")).status());
  absl::StatusOr<UserPage> first = ListUsers(*pool_, {.page_size = 1});
  ASSERT_OK(first.status());
  std::string damaged = first->next_page_token;
  damaged[2] = damaged[2] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(absl::IsInvalidArgument(ListUsers(*pool_, {.page_token = damaged}).status()));

  EXPECT_TRUE(absl::IsInvalidArgument(ListUsers(*pool_, {.page_size = -1}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ListUsers(*pool_, {.page_size = 1001}).status()));
}

TEST_F(UserStoreTest, UpdatesOnlyGivenFieldsAndBumpsUpdateTime) {
  absl::StatusOr<UserRow> created = CreateUser(*pool_, User("ann", "qa"));
  ASSERT_OK(created.status());

  absl::StatusOr<UserRow> renamed = UpdateUser(*pool_, {.id = created->id}, {.username = "anna"});
  ASSERT_OK(renamed.status());
  EXPECT_EQ(renamed->username, "anna");
  EXPECT_EQ(renamed->default_mailbox, "qa");
  EXPECT_TRUE(renamed->enabled);
  EXPECT_EQ(renamed->created_at, created->created_at);
  EXPECT_GT(renamed->updated_at, created->updated_at);

  absl::StatusOr<UserRow> changed =
      UpdateUser(*pool_, {.username = "anna"},
                 {.password = Material("new"), .default_mailbox = "", .enabled = false});
  ASSERT_OK(changed.status());
  EXPECT_EQ(changed->default_mailbox, "");
  EXPECT_FALSE(changed->enabled);
  EXPECT_GT(changed->updated_at, renamed->updated_at);

  absl::StatusOr<UserCredentials> credentials = GetUserCredentials(*pool_, "anna");
  ASSERT_OK(credentials.status());
  EXPECT_EQ(credentials->password_hash, "$scrypt$fake$new");
  EXPECT_EQ(credentials->cram_md5_verifier, std::string(32, 'n'));
  EXPECT_FALSE(credentials->enabled);

  ASSERT_OK(UpdateUser(*pool_, {.id = created->id}, {.default_mailbox = "default"}).status());
  EXPECT_EQ(GetUser(*pool_, {.id = created->id})->default_mailbox, "default");
}

TEST_F(UserStoreTest, UpdateReportsConflictsAndMissing) {
  absl::StatusOr<UserRow> ann = CreateUser(*pool_, User("ann"));
  ASSERT_OK(ann.status());
  ASSERT_OK(CreateUser(*pool_, User("bob")).status());

  absl::StatusOr<UserRow> taken = UpdateUser(*pool_, {.id = ann->id}, {.username = "bob"});
  EXPECT_TRUE(absl::IsAlreadyExists(taken.status())) << taken.status();
  EXPECT_THAT(taken.status().message(), HasSubstr("user.username:"));
  // Renaming to its own name is no conflict.
  EXPECT_OK(UpdateUser(*pool_, {.id = ann->id}, {.username = "ann"}).status());

  absl::StatusOr<UserRow> no_mailbox =
      UpdateUser(*pool_, {.id = ann->id}, {.default_mailbox = "nope"});
  EXPECT_TRUE(absl::IsInvalidArgument(no_mailbox.status()));
  EXPECT_EQ(no_mailbox.status().message(), "user.default_mailbox: no mailbox named `nope`");

  EXPECT_TRUE(absl::IsNotFound(UpdateUser(*pool_, {.id = NewId()}, {.enabled = false}).status()));
  EXPECT_TRUE(
      absl::IsNotFound(UpdateUser(*pool_, {.username = "ghost"}, {.enabled = false}).status()));
}

TEST_F(UserStoreTest, DeletesByIdAndUsername) {
  absl::StatusOr<UserRow> ann = CreateUser(*pool_, User("ann"));
  ASSERT_OK(ann.status());
  ASSERT_OK(CreateUser(*pool_, User("bob")).status());
  EXPECT_OK(DeleteUser(*pool_, {.id = ann->id}));
  EXPECT_OK(DeleteUser(*pool_, {.username = "bob"}));
  EXPECT_TRUE(absl::IsNotFound(DeleteUser(*pool_, {.id = ann->id})));
  EXPECT_TRUE(absl::IsNotFound(DeleteUser(*pool_, {.username = "bob"})));
  EXPECT_TRUE(absl::IsNotFound(GetUserCredentials(*pool_, "ann").status()));
}

TEST_F(UserStoreTest, UpsertCreatesUpdatesAndLeavesUnchangedRowsAlone) {
  DeclaredUser declared{.username = "ci", .password = Material("one"), .default_mailbox = "qa"};
  absl::StatusOr<UpsertResult> created = UpsertUser(*pool_, declared);
  ASSERT_OK(created.status());
  EXPECT_EQ(created->outcome, UpsertOutcome::kCreated);
  EXPECT_EQ(created->user.default_mailbox, "qa");

  // The same declaration without new password material: nothing to do.
  declared.password.reset();
  absl::StatusOr<UpsertResult> again = UpsertUser(*pool_, declared);
  ASSERT_OK(again.status());
  EXPECT_EQ(again->outcome, UpsertOutcome::kUnchanged);
  EXPECT_EQ(again->user.id, created->user.id);
  EXPECT_EQ(again->user.updated_at, created->user.updated_at);
  EXPECT_EQ(GetUserCredentials(*pool_, "ci")->password_hash, "$scrypt$fake$one");

  declared.enabled = false;
  declared.default_mailbox.reset();  // keep qa
  absl::StatusOr<UpsertResult> updated = UpsertUser(*pool_, declared);
  ASSERT_OK(updated.status());
  EXPECT_EQ(updated->outcome, UpsertOutcome::kUpdated);
  EXPECT_FALSE(updated->user.enabled);
  EXPECT_EQ(updated->user.default_mailbox, "qa");
  EXPECT_EQ(updated->user.id, created->user.id);

  declared.password = Material("two");
  declared.default_mailbox = "";
  ASSERT_OK(UpsertUser(*pool_, declared).status());
  absl::StatusOr<UserCredentials> credentials = GetUserCredentials(*pool_, "ci");
  ASSERT_OK(credentials.status());
  EXPECT_EQ(credentials->password_hash, "$scrypt$fake$two");
  EXPECT_EQ(GetUser(*pool_, {.username = "ci"})->default_mailbox, "");

  absl::StatusOr<UpsertResult> bad =
      UpsertUser(*pool_, {.username = "ci", .default_mailbox = "nope"});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
}

TEST_F(UserStoreTest, UpsertWithoutPasswordCreatesUserThatCannotAuthenticate) {
  ASSERT_OK(UpsertUser(*pool_, {.username = "nopw"}).status());
  absl::StatusOr<UserCredentials> credentials = GetUserCredentials(*pool_, "nopw");
  ASSERT_OK(credentials.status());
  EXPECT_FALSE(credentials->password_hash.has_value());
  EXPECT_FALSE(credentials->cram_md5_verifier.has_value());
}

TEST_F(UserStoreTest, ConcurrentUpsertsOfOneUserNeverFailNorDuplicate) {
  constexpr int kThreads = 8;
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // Each "replica" has its own pool, as separate processes would.
      absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
          ConnectionPool::Create({.url = db_->url(), .size = 1});
      if (!pool.ok()) {
        results[i] = pool.status();
        return;
      }
      results[i] =
          UpsertUser(**pool,
                     {.username = "shared", .password = Material("pw"), .default_mailbox = "qa"})
              .status();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : results) EXPECT_OK(status);
  absl::StatusOr<int> count = pool_->Run([](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return txn.exec("SELECT count(*) FROM users WHERE username = 'shared'")[0][0].as<int>();
  });
  ASSERT_OK(count.status());
  EXPECT_EQ(*count, 1);
}

// Collects the payloads of NOTIFYs on one channel.
class Collector final : public pqxx::notification_receiver {
 public:
  Collector(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

TEST_F(UserStoreTest, EveryChangeNotifiesTheRoutingChannel) {
  pqxx::connection listener(db_->url());
  Collector collector(listener, kRoutingChannel);
  listener.get_notifs();  // sends LISTEN

  auto drain = [&] {
    collector.payloads.clear();
    // A committed NOTIFY is delivered before the call returns to its sender; one wait
    // with a long timeout is enough, and returns as soon as it arrives.
    listener.await_notification(10, 0);
    return collector.payloads;
  };
  absl::StatusOr<UserRow> ann = CreateUser(*pool_, User("ann"));
  ASSERT_OK(ann.status());
  EXPECT_THAT(drain(), ElementsAre(kUsersChangedPayload));
  ASSERT_OK(UpdateUser(*pool_, {.id = ann->id}, {.enabled = false}).status());
  EXPECT_THAT(drain(), ElementsAre(kUsersChangedPayload));
  ASSERT_OK(UpsertUser(*pool_, {.username = "ci"}).status());
  EXPECT_THAT(drain(), ElementsAre(kUsersChangedPayload));
  ASSERT_OK(DeleteUser(*pool_, {.id = ann->id}));
  EXPECT_THAT(drain(), ElementsAre(kUsersChangedPayload));

  // Failed changes send nothing: the transaction rolled back.
  ASSERT_FALSE(CreateUser(*pool_, User("ci")).ok());
  collector.payloads.clear();
  listener.get_notifs();
  EXPECT_TRUE(collector.payloads.empty());
}

}  // namespace
}  // namespace mailroom::storage
