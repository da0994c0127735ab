// PruneOnce against a real PostgreSQL: each limit alone and all together, per-mailbox limits
// with a message in two mailboxes, batches smaller than the excess, stopping between
// batches, the advisory lock that keeps a second pass out, the statistics shortcut, and the
// address dictionary entries left without messages.

#include "storage/retention.h"

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/ingest_batch.h"
#include "storage/schema.h"
#include "tests/storage/migrated_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RetentionTest : public MigratedDatabaseTest {
 protected:
  // Stores a message received `minutes` after 2026-01-01 (or `minutes` before now when
  // `relative_to_now`), with one recipient, linked to `mailboxes`. Returns its subject, which
  // the assertions use as its name.
  std::string AddMessage(int minutes, const std::vector<std::string>& mailboxes,
                         bool relative_to_now = false) {
    const std::string subject = absl::StrCat("m", minutes, relative_to_now ? "ago" : "");
    const std::string received_at =
        relative_to_now ? absl::StrCat("now() - interval '", minutes, " minutes'")
                        : absl::StrCat("timestamptz '2026-01-01 00:00:00+00' + interval '", minutes,
                                       " minutes'");
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      const std::string id =
          txn.exec_params1(absl::StrCat("INSERT INTO messages (id, received_at, envelope_from, "
                                        "size_bytes, subject, raw) VALUES (gen_random_uuid(), ",
                                        received_at,
                                        ", 'a@example.com', 1, $1, '\\x41') "
                                        "RETURNING id::text"),
                           subject)[0]
              .as<std::string>();
      txn.exec_params(
          "INSERT INTO message_recipients (message_id, position, address) "
          "VALUES ($1::uuid, 0, 'b@example.com')",
          id);
      for (const std::string& mailbox : mailboxes) {
        txn.exec_params(
            "INSERT INTO message_mailboxes (mailbox_id, message_id, received_at) "
            "SELECT $1::uuid, id, received_at FROM messages WHERE id = $2::uuid",
            mailbox, id);
      }
      txn.commit();
    }));
    return subject;
  }

  std::string AddDefaultMessage(int minutes) {
    return AddMessage(minutes, {std::string(kDefaultMailboxId)});
  }

  // Stores a session started `minutes` after 2026-01-01, or before now; named like messages.
  void AddSession(int minutes, bool relative_to_now = false) {
    const std::string started_at =
        relative_to_now ? absl::StrCat("now() - interval '", minutes, " minutes'")
                        : absl::StrCat("timestamptz '2026-01-01 00:00:00+00' + interval '", minutes,
                                       " minutes'");
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      txn.exec_params(absl::StrCat("INSERT INTO smtp_sessions (id, listener, client_address, "
                                   "client_port, server_address, ehlo_name, started_at, "
                                   "ended_at, outcome) VALUES (gen_random_uuid(), 'smtp', "
                                   "'192.0.2.1', 1, '127.0.0.1:25', $1, ",
                                   started_at, ", ", started_at, ", 'quit')"),
                      absl::StrCat("s", minutes, relative_to_now ? "ago" : ""));
      txn.commit();
    }));
  }

  void SetMailboxLimit(const std::string& mailbox_id, int limit) {
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      txn.exec_params("UPDATE mailboxes SET max_messages = $2 WHERE id = $1::uuid", mailbox_id,
                      limit);
      txn.commit();
    }));
  }

  // The result of one query's first column, in order.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> values;
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::read_transaction txn(conn);
      for (const pqxx::row& row : txn.exec(sql)) values.push_back(row[0].as<std::string>());
    }));
    return values;
  }

  // Subjects of the stored messages, oldest first.
  std::vector<std::string> Messages() {
    return Column("SELECT subject FROM messages ORDER BY received_at, id");
  }
  // Subjects of the messages linked to `mailbox_id`, oldest first.
  std::vector<std::string> MailboxMessages(const std::string& mailbox_id) {
    return Column(absl::StrCat(
        "SELECT m.subject FROM message_mailboxes x JOIN messages m ON m.id = x.message_id "
        "WHERE x.mailbox_id = '",
        mailbox_id, "' ORDER BY x.received_at, x.message_id"));
  }
  std::vector<std::string> Sessions() {
    return Column("SELECT ehlo_name FROM smtp_sessions ORDER BY started_at, id");
  }
  int64_t Count(const std::string& table) {
    return std::stoll(Column(absl::StrCat("SELECT count(*) FROM ", table)).at(0));
  }

  // Stores a message from `sender` received `minutes` after 2026-01-01 as capture does,
  // with its address dictionary links, in `txn` (committed by the caller).
  static void Capture(pqxx::transaction_base& txn, const std::string& sender, int minutes) {
    NewMessage message{.id = NewId(),
                       .received_at = absl::FromCivil(absl::CivilMinute(2026, 1, 1, 0, minutes),
                                                      absl::UTCTimeZone()),
                       .envelope_from = sender,
                       .recipients = {{.address = "shared@example.com"}},
                       .mailbox_ids = {std::string(kDefaultMailboxId)},
                       .raw = "Subject: x\r\n\r\nbody\r\n"};
    const NewMessage* pointer = &message;
    BatchInserter().Insert(txn, absl::MakeConstSpan(&pointer, 1), {});
  }
  void Capture(const std::string& sender, int minutes) {
    EXPECT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      Capture(txn, sender, minutes);
      txn.commit();
    }));
  }
  std::vector<std::string> Addresses() {
    return Column("SELECT text FROM addresses ORDER BY text");
  }

  PruneResult Prune(const RetentionLimits& limits, const PruneOptions& options = {}) {
    PruneResult result;
    EXPECT_OK(PruneOnce(*pool_, limits, options, &result));
    return result;
  }

  const std::string default_mailbox_ = std::string(kDefaultMailboxId);
  const std::string qa_mailbox_ = kQaMailboxId;
};

TEST_F(RetentionTest, NothingIsDeletedWithoutLimits) {
  for (int i = 0; i < 5; ++i) AddDefaultMessage(i);
  AddSession(0);
  const PruneResult result = Prune({});
  EXPECT_FALSE(result.skipped);
  EXPECT_FALSE(result.interrupted);
  EXPECT_EQ(result.messages(), 0);
  EXPECT_EQ(result.sessions(), 0);
  EXPECT_EQ(result.mailbox_links, 0);
  EXPECT_EQ(result.exact_checks, 0);
  EXPECT_EQ(Count("messages"), 5);
  EXPECT_EQ(Count("smtp_sessions"), 1);
}

TEST_F(RetentionTest, NothingIsDeletedUnderEveryLimit) {
  for (int i = 0; i < 5; ++i) AddDefaultMessage(i);
  AddSession(0);
  SetMailboxLimit(default_mailbox_, 5);
  const PruneResult result = Prune({.max_messages = 5,
                                    .max_message_age = absl::Hours(24 * 365 * 100),
                                    .max_sessions = 1,
                                    .max_session_age = absl::Hours(24 * 365 * 100)});
  EXPECT_EQ(result.messages(), 0);
  EXPECT_EQ(result.sessions(), 0);
  EXPECT_EQ(result.mailbox_links, 0);
  EXPECT_EQ(Count("messages"), 5);
  EXPECT_EQ(Count("smtp_sessions"), 1);
}

TEST_F(RetentionTest, MaxMessagesKeepsTheNewest) {
  // Inserted out of order: age is received_at, not insertion order.
  for (int i : {4, 0, 9, 2, 7, 1, 8, 3, 6, 5}) AddDefaultMessage(i);
  const PruneResult result = Prune({.max_messages = 3});
  EXPECT_EQ(result.messages_total_limit, 7);
  EXPECT_EQ(result.messages(), 7);
  EXPECT_EQ(result.exact_checks, 1);
  EXPECT_THAT(Messages(), ElementsAre("m7", "m8", "m9"));
  // Recipients and mailbox links went with their messages.
  EXPECT_EQ(Count("message_recipients"), 3);
  EXPECT_EQ(Count("message_mailboxes"), 3);
  // A second pass finds nothing more to do.
  EXPECT_EQ(Prune({.max_messages = 3}).messages(), 0);
}

TEST_F(RetentionTest, MaxMessagesBreaksTiesOnReceivedAtById) {
  for (int i = 0; i < 4; ++i) AddDefaultMessage(0);  // all at the same instant
  const std::vector<std::string> newest_two =
      Column("SELECT id::text FROM messages ORDER BY id DESC LIMIT 2");
  EXPECT_EQ(Prune({.max_messages = 2}).messages_total_limit, 2);
  EXPECT_THAT(Column("SELECT id::text FROM messages ORDER BY id DESC"),
              ElementsAre(newest_two[0], newest_two[1]));
}

TEST_F(RetentionTest, MaxMessageAgeDeletesOlderMessages) {
  AddMessage(60 * 48, {default_mailbox_}, /*relative_to_now=*/true);
  AddMessage(60 * 25, {qa_mailbox_}, /*relative_to_now=*/true);
  AddMessage(60 * 23, {default_mailbox_}, /*relative_to_now=*/true);
  AddMessage(1, {qa_mailbox_}, /*relative_to_now=*/true);
  const PruneResult result = Prune({.max_message_age = absl::Hours(24)});
  EXPECT_EQ(result.messages_age_limit, 2);
  EXPECT_EQ(result.messages(), 2);
  EXPECT_THAT(Messages(), ElementsAre("m1380ago", "m1ago"));
}

TEST_F(RetentionTest, MailboxLimitKeepsTheNewestOfThatMailboxOnly) {
  for (int i = 0; i < 5; ++i) AddMessage(i, {qa_mailbox_});
  for (int i = 10; i < 13; ++i) AddDefaultMessage(i);
  SetMailboxLimit(qa_mailbox_, 2);
  const PruneResult result = Prune({});
  EXPECT_EQ(result.mailbox_links, 3);
  EXPECT_EQ(result.messages_mailbox_limit, 3);
  EXPECT_THAT(MailboxMessages(qa_mailbox_), ElementsAre("m3", "m4"));
  EXPECT_THAT(MailboxMessages(default_mailbox_), ElementsAre("m10", "m11", "m12"));
  EXPECT_EQ(Count("messages"), 5);
  EXPECT_EQ(Count("message_recipients"), 5);
}

TEST_F(RetentionTest, MailboxLimitKeepsAMessageLinkedElsewhere) {
  AddMessage(0, {qa_mailbox_, default_mailbox_});  // the oldest in qa, also in default
  AddMessage(1, {qa_mailbox_});
  AddMessage(2, {qa_mailbox_});
  SetMailboxLimit(qa_mailbox_, 1);
  const PruneResult result = Prune({});
  EXPECT_EQ(result.mailbox_links, 2);
  EXPECT_EQ(result.messages_mailbox_limit, 1);  // m1; m0 is still in default
  EXPECT_THAT(MailboxMessages(qa_mailbox_), ElementsAre("m2"));
  EXPECT_THAT(MailboxMessages(default_mailbox_), ElementsAre("m0"));
  EXPECT_THAT(Messages(), ElementsAre("m0", "m2"));
}

TEST_F(RetentionTest, MessageOverTheLimitOfBothItsMailboxesGoes) {
  AddMessage(0, {qa_mailbox_, default_mailbox_});
  AddMessage(1, {qa_mailbox_, default_mailbox_});
  SetMailboxLimit(qa_mailbox_, 1);
  SetMailboxLimit(default_mailbox_, 1);
  const PruneResult result = Prune({});
  // Unlinked from the first mailbox while still in the other, then deleted with the second.
  EXPECT_EQ(result.mailbox_links, 2);
  EXPECT_EQ(result.messages_mailbox_limit, 1);
  EXPECT_THAT(Messages(), ElementsAre("m1"));
  EXPECT_EQ(Count("message_mailboxes"), 2);
}

TEST_F(RetentionTest, MaxSessionsKeepsTheNewest) {
  for (int i : {3, 0, 4, 1, 2}) AddSession(i);
  const PruneResult result = Prune({.max_sessions = 2});
  EXPECT_EQ(result.sessions_total_limit, 3);
  EXPECT_EQ(result.sessions(), 3);
  EXPECT_THAT(Sessions(), ElementsAre("s3", "s4"));
}

TEST_F(RetentionTest, MaxSessionAgeDeletesOlderSessions) {
  AddSession(120, /*relative_to_now=*/true);
  AddSession(61, /*relative_to_now=*/true);
  AddSession(59, /*relative_to_now=*/true);
  AddSession(0, /*relative_to_now=*/true);
  const PruneResult result = Prune({.max_session_age = absl::Hours(1)});
  EXPECT_EQ(result.sessions_age_limit, 2);
  EXPECT_THAT(Sessions(), ElementsAre("s59ago", "s0ago"));
}

TEST_F(RetentionTest, SessionPruningLeavesMessagesAlone) {
  AddSession(0);
  AddSession(1);
  AddDefaultMessage(0);
  EXPECT_EQ(Prune({.max_sessions = 1}).sessions(), 1);
  EXPECT_EQ(Count("messages"), 1);
}

TEST_F(RetentionTest, EveryLimitTogether) {
  // qa: 4 messages, limit 3. default: 6 messages. Total limit 7; age limit 30 days.
  AddMessage(60 * 24 * 40, {default_mailbox_}, true);  // too old
  AddMessage(60 * 24 * 35, {qa_mailbox_}, true);       // too old, and beyond qa's limit
  for (int i = 10; i >= 6; --i) AddMessage(i, {default_mailbox_}, true);
  for (int i = 5; i >= 3; --i) AddMessage(i, {qa_mailbox_}, true);
  SetMailboxLimit(qa_mailbox_, 3);
  for (int i = 0; i < 4; ++i) AddSession(60 * 24 * (i + 1), true);  // 1, 2, 3, 4 days old
  AddSession(1, true);

  const PruneResult result = Prune({.max_messages = 7,
                                    .max_message_age = absl::Hours(24 * 30),
                                    .max_sessions = 4,
                                    .max_session_age = absl::Hours(24 * 3 + 1),
                                    .batch_size = 2});
  // 1: qa's oldest (35 days) goes. 2: 9 left, total 7: the 40-day-old one and m10ago go.
  // 3: nothing older than 30 days remains. 4: the 4-day-old session goes by count, none left
  // beyond 3 days and an hour.
  EXPECT_EQ(result.messages_mailbox_limit, 1);
  EXPECT_EQ(result.messages_total_limit, 2);
  EXPECT_EQ(result.messages_age_limit, 0);
  EXPECT_EQ(result.sessions_total_limit, 1);
  EXPECT_EQ(result.sessions_age_limit, 0);
  EXPECT_THAT(Messages(),
              ElementsAre("m9ago", "m8ago", "m7ago", "m6ago", "m5ago", "m4ago", "m3ago"));
  EXPECT_EQ(Count("smtp_sessions"), 4);

  // With the age limits tighter, the age steps do the work.
  const PruneResult by_age = Prune({.max_messages = 7,
                                    .max_message_age = absl::Minutes(5) + absl::Seconds(30),
                                    .max_sessions = 4,
                                    .max_session_age = absl::Hours(36)});
  EXPECT_EQ(by_age.messages_age_limit, 4);
  EXPECT_EQ(by_age.sessions_age_limit, 2);
  EXPECT_THAT(Messages(), ElementsAre("m5ago", "m4ago", "m3ago"));
  EXPECT_EQ(Count("smtp_sessions"), 2);
}

TEST_F(RetentionTest, BatchesSmallerThanTheExcessPruneEverything) {
  for (int i = 0; i < 23; ++i) AddMessage(i, {qa_mailbox_});
  for (int i = 100; i < 117; ++i) AddSession(i);
  for (int i = 200; i < 211; ++i) AddDefaultMessage(i);
  SetMailboxLimit(qa_mailbox_, 3);
  int asked = 0;
  const PruneResult result =
      Prune({.max_messages = 5, .max_sessions = 2, .batch_size = 4}, {.stop = [&asked] {
              ++asked;
              return false;
            }});
  EXPECT_FALSE(result.interrupted);
  EXPECT_EQ(result.mailbox_links, 20);
  EXPECT_EQ(result.messages_mailbox_limit, 20);
  EXPECT_EQ(result.messages_total_limit, 14 - 5);
  EXPECT_EQ(result.sessions_total_limit, 15);
  EXPECT_THAT(Messages(), ElementsAre("m206", "m207", "m208", "m209", "m210"));
  EXPECT_EQ(Count("smtp_sessions"), 2);
  // Asked before every batch: at least ceil(20/4) + ceil(9/4) + ceil(15/4) batches ran.
  EXPECT_GE(asked, 5 + 3 + 4);
}

TEST_F(RetentionTest, StopEndsThePassBetweenBatches) {
  for (int i = 0; i < 20; ++i) AddDefaultMessage(i);
  int asked = 0;
  // The first question comes before the boundary is read, the second before batch 1, the
  // third before batch 2.
  const PruneResult result =
      Prune({.max_messages = 2, .batch_size = 5}, {.stop = [&asked] { return ++asked == 3; }});
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.messages_total_limit, 5);
  EXPECT_EQ(Count("messages"), 15);
  // The lock was released: the next pass runs and finishes the job.
  const PruneResult next = Prune({.max_messages = 2, .batch_size = 5});
  EXPECT_FALSE(next.skipped);
  EXPECT_EQ(next.messages_total_limit, 13);
}

TEST_F(RetentionTest, APassIsSkippedWhileAnotherHoldsTheLock) {
  for (int i = 0; i < 6; ++i) AddDefaultMessage(i);
  pqxx::connection other(db_->url());
  pqxx::nontransaction(other).exec_params("SELECT pg_advisory_lock($1)", kRetentionLockKey);

  const PruneResult skipped = Prune({.max_messages = 2});
  EXPECT_TRUE(skipped.skipped);
  EXPECT_EQ(skipped.messages(), 0);
  EXPECT_EQ(Count("messages"), 6);

  pqxx::nontransaction(other).exec_params("SELECT pg_advisory_unlock($1)", kRetentionLockKey);
  const PruneResult ran = Prune({.max_messages = 2});
  EXPECT_FALSE(ran.skipped);
  EXPECT_EQ(ran.messages(), 4);
}

TEST_F(RetentionTest, AConcurrentPassSkipsWhileOneRuns) {
  for (int i = 0; i < 12; ++i) AddDefaultMessage(i);
  // The stop callback runs between batches of the first pass, while it holds the lock: a
  // second pass started there (on another pooled connection) must skip.
  std::vector<PruneResult> inner;
  const PruneResult outer =
      Prune({.max_messages = 2, .batch_size = 3}, {.stop = [&] {
              if (inner.empty()) {
                PruneResult second;
                EXPECT_OK(PruneOnce(*pool_, {.max_messages = 1}, {}, &second));
                inner.push_back(second);
              }
              return false;
            }});
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_TRUE(inner[0].skipped);
  EXPECT_EQ(inner[0].messages(), 0);
  EXPECT_FALSE(outer.skipped);
  EXPECT_EQ(outer.messages(), 10);
}

TEST_F(RetentionTest, TheLockIsReleasedAfterAPass) {
  AddDefaultMessage(0);
  Prune({.max_messages = 1});
  Prune({});
  // No pooled connection kept it: another session gets it at once.
  pqxx::connection other(db_->url());
  pqxx::nontransaction txn(other);
  EXPECT_TRUE(txn.exec_params1("SELECT pg_try_advisory_lock($1)", kRetentionLockKey)[0].as<bool>());
  // Only `other` holds an advisory lock on this database now.
  EXPECT_THAT(Column("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                     "(SELECT oid FROM pg_database WHERE datname = current_database())"),
              ElementsAre("1"));
}

TEST_F(RetentionTest, StatisticsSettleLimitsFarAbove) {
  for (int i = 0; i < 40; ++i) AddDefaultMessage(i);
  AddSession(0);
  // Before any ANALYZE the statistics know nothing: every limit is checked exactly.
  EXPECT_EQ(Prune({.max_messages = 1000, .max_sessions = 1000}).exact_checks, 2);
  ASSERT_OK(pool_->Run([](pqxx::connection& conn) {
    pqxx::nontransaction(conn).exec("ANALYZE messages, smtp_sessions, message_mailboxes");
  }));
  SetMailboxLimit(default_mailbox_, 1000);
  EXPECT_EQ(Prune({.max_messages = 1000, .max_sessions = 1000}).exact_checks, 0);
  // Not when estimates are not trusted.
  EXPECT_EQ(
      Prune({.max_messages = 1000, .max_sessions = 1000}, {.trust_estimates = false}).exact_checks,
      3);
  // Near or over the limit the exact check runs and prunes.
  const PruneResult near = Prune({.max_messages = 42, .max_sessions = 1000});
  EXPECT_EQ(near.exact_checks, 1);
  EXPECT_EQ(near.messages(), 0);
  const PruneResult over = Prune({.max_messages = 30, .max_sessions = 1000});
  EXPECT_EQ(over.messages_total_limit, 10);
  EXPECT_THAT(Column("SELECT 1 FROM messages WHERE subject = 'm9'"), IsEmpty());
}

// Dictionary entries go with the last message that links them, whether retention deleted it
// or DeleteMessages did (caught up with by the exact passes); linked entries stay.
TEST_F(RetentionTest, AddressesGoWithTheirLastMessage) {
  Capture("gone@old.example", 0);
  Capture("kept@new.example", 1);
  Capture("kept@new.example", 2);
  Capture("deleted@api.example", 3);
  EXPECT_THAT(Addresses(), ElementsAre("deleted@api.example", "gone@old.example",
                                       "kept@new.example", "shared@example.com"));
  PruneResult result = Prune({.max_messages = 3});
  EXPECT_EQ(result.messages_total_limit, 1);
  EXPECT_EQ(result.addresses, 1);
  EXPECT_THAT(Addresses(),
              ElementsAre("deleted@api.example", "kept@new.example", "shared@example.com"));

  ASSERT_OK(pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("DELETE FROM messages WHERE envelope_from = 'deleted@api.example'");
    txn.commit();
  }));
  EXPECT_EQ(Prune({}).addresses, 0);  // nothing deleted, estimates trusted: not looked at
  result = Prune({}, {.trust_estimates = false});
  EXPECT_EQ(result.addresses, 1);
  EXPECT_THAT(Addresses(), ElementsAre("kept@new.example", "shared@example.com"));
}

// An entry found unlinked is not deleted while a capture statement that links it again is
// in flight: the delete waits for it, then sees the new link.
TEST_F(RetentionTest, AnEntryLinkedAgainDuringThePassStays) {
  Capture("again@example.com", 0);
  ASSERT_OK(pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("DELETE FROM messages");
    txn.commit();
  }));
  pqxx::connection capture(db_->url());
  pqxx::work in_flight(capture);
  Capture(in_flight, "again@example.com", 1);  // the entry exists: only a link is added

  PruneResult result;
  absl::Status status;
  std::thread pass([&] { status = PruneOnce(*pool_, {}, {.trust_estimates = false}, &result); });
  absl::SleepFor(absl::Milliseconds(300));  // the pass finds the entry unlinked, then waits
  in_flight.commit();
  pass.join();
  ASSERT_OK(status);
  EXPECT_EQ(result.addresses, 0);
  EXPECT_THAT(Addresses(), ElementsAre("again@example.com", "shared@example.com"));
  EXPECT_THAT(Column("SELECT count(*) FROM message_addresses ma WHERE NOT EXISTS "
                     "(SELECT 1 FROM addresses a WHERE a.id = ma.address_id)"),
              ElementsAre("0"));
}

}  // namespace
}  // namespace mailroom::storage
