// ListSessions, GetSession and DeleteSessions against a real PostgreSQL, on rows stored as
// the ingest writer stores them: every filter, keyset pagination with tokens bound to their
// filters, transcript pages, the message ids of a session, and deletion by ids and filters.

#include "storage/session_store.h"

#include <memory>
#include <pqxx/transaction>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/ingest_batch.h"
#include "storage/ingest_rows.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "storage/schema.h"
#include "tests/support/scratch_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kBase =
    absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone());

class SessionStoreTest : public ::testing::Test {
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
  }

  // A session started `minutes` after kBase, with the given EHLO name as its label.
  static NewSession Session(int minutes, std::string ehlo, std::string client = "192.0.2.10") {
    NewSession s;
    s.id = NewId();
    s.listener = "smtp";
    s.client_address = std::move(client);
    s.client_port = 40000 + minutes;
    s.server_address = "127.0.0.1:2525";
    s.ehlo_name = std::move(ehlo);
    s.started_at = kBase + absl::Minutes(minutes);
    s.ended_at = s.started_at + absl::Seconds(2);
    s.outcome = std::string(kOutcomeQuit);
    return s;
  }

  void Store(std::vector<NewSession> sessions, std::vector<NewMessage> messages = {}) {
    std::vector<const NewSession*> session_pointers;
    for (const NewSession& s : sessions) session_pointers.push_back(&s);
    std::vector<const NewMessage*> message_pointers;
    for (NewMessage& m : messages) {
      if (m.id.empty()) m.id = NewId();
      m.mailbox_ids = {std::string(kDefaultMailboxId)};
      m.raw = "Subject: x\r\n\r\nbody\r\n";
      message_pointers.push_back(&m);
    }
    ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      BatchInserter().Insert(txn, message_pointers, session_pointers);
      txn.commit();
    }));
  }

  // The EHLO names of the first page ListSessions returns for `filter`, newest first.
  std::vector<std::string> Names(const SessionFilter& filter) {
    absl::StatusOr<SessionPage> page = ListSessions(*pool_, {.filter = filter, .page_size = 1000});
    EXPECT_OK(page.status());
    std::vector<std::string> names;
    if (!page.ok()) return names;
    for (const SessionRow& s : page->sessions) names.push_back(s.ehlo_name);
    return names;
  }

  std::unique_ptr<testing::ScratchDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST_F(SessionStoreTest, ListsNewestFirstWithEveryColumn) {
  NewSession tls = Session(2, "b", "2001:db8::7");
  tls.tls = TlsFacts{.protocol = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384", .implicit = true};
  tls.auth_user = "ann";
  tls.auth_mechanism = "PLAIN";
  tls.message_count = 3;
  tls.error_reply_count = 1;
  tls.outcome = std::string(kOutcomeError);
  tls.error = "too many errors (10)";
  tls.transcript = {{absl::Microseconds(5), TranscriptRow::Direction::kServer, "220 hi"}};
  Store({Session(1, "a"), tls, Session(3, "c")});

  absl::StatusOr<SessionPage> page = ListSessions(*pool_, {});
  ASSERT_OK(page.status());
  ASSERT_EQ(page->sessions.size(), 3u);
  EXPECT_TRUE(page->next_page_token.empty());
  const SessionRow& s = page->sessions[1];
  EXPECT_EQ(page->sessions[0].ehlo_name, "c");
  EXPECT_EQ(s.id, tls.id);
  EXPECT_EQ(s.listener, "smtp");
  EXPECT_EQ(s.client_address, "2001:db8::7");
  EXPECT_EQ(s.client_port, 40002);
  EXPECT_EQ(s.tls_protocol, "TLSv1.3");
  EXPECT_EQ(s.tls_cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_TRUE(s.tls_implicit);
  EXPECT_EQ(s.auth_user, "ann");
  EXPECT_EQ(s.auth_mechanism, "PLAIN");
  EXPECT_EQ(s.started_at, kBase + absl::Minutes(2));
  EXPECT_EQ(s.ended_at, kBase + absl::Minutes(2) + absl::Seconds(2));
  EXPECT_EQ(s.message_count, 3);
  EXPECT_EQ(s.outcome, "error");
  EXPECT_EQ(s.error, "too many errors (10)");
  EXPECT_EQ(s.error_reply_count, 1);
  EXPECT_EQ(s.transcript_line_count, 1);
  EXPECT_FALSE(page->sessions[0].tls_protocol.has_value());
}

TEST_F(SessionStoreTest, FiltersByClientUserErrorAndTime) {
  NewSession v6 = Session(1, "v6", "2001:db8::1");
  NewSession ten = Session(2, "ten", "10.1.2.3");
  ten.auth_user = "bob";
  NewSession timeout = Session(3, "timeout");
  timeout.outcome = std::string(kOutcomeTimeout);
  NewSession rejected = Session(4, "rejected");
  rejected.error_reply_count = 2;
  Store({v6, ten, timeout, rejected, Session(5, "plain")});

  EXPECT_THAT(Names({.client_address = "10.0.0.0/8"}), ElementsAre("ten"));
  EXPECT_THAT(Names({.client_address = "10.1.2.3"}), ElementsAre("ten"));
  EXPECT_THAT(Names({.client_address = "10.1.2.4"}), ElementsAre());
  EXPECT_THAT(Names({.client_address = "2001:db8::/32"}), ElementsAre("v6"));
  EXPECT_THAT(Names({.auth_user = "bob"}), ElementsAre("ten"));
  EXPECT_THAT(Names({.auth_user = "Bob"}), ElementsAre());
  EXPECT_THAT(Names({.has_error = true}), ElementsAre("rejected", "timeout"));
  EXPECT_THAT(Names({.has_error = false}), ElementsAre("plain", "ten", "v6"));
  EXPECT_THAT(Names({.since = kBase + absl::Minutes(2), .until = kBase + absl::Minutes(4)}),
              ElementsAre("timeout", "ten"));
  EXPECT_THAT(Names({.client_address = "192.0.2.0/24", .has_error = false}), ElementsAre("plain"));
}

TEST_F(SessionStoreTest, RejectsMalformedFilters) {
  for (const char* bad : {"10.0.0.0/33", "nonsense", "10.0.0.1/", "::1/129", "1.2.3.4/x"}) {
    absl::StatusOr<SessionPage> page = ListSessions(*pool_, {.filter = {.client_address = bad}});
    ASSERT_FALSE(page.ok()) << bad;
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(page.status().message(), HasSubstr("client_address:"));
  }
  absl::StatusOr<SessionPage> range =
      ListSessions(*pool_, {.filter = {.since = kBase, .until = kBase}});
  EXPECT_THAT(range.status().message(), HasSubstr("until:"));
  absl::StatusOr<int64_t> ids = DeleteSessions(*pool_, {.ids = {"x"}});
  EXPECT_THAT(ids.status().message(), HasSubstr("ids[0]:"));
}

TEST_F(SessionStoreTest, PagesWithTokensBoundToTheirFilters) {
  std::vector<NewSession> sessions;
  // Two sessions share a start time: the id breaks the tie.
  for (int i = 0; i < 7; ++i) sessions.push_back(Session(i == 6 ? 5 : i, absl::StrCat("s", i)));
  Store(sessions);
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<SessionPage> page = ListSessions(*pool_, {.page_size = 2, .page_token = token});
    ASSERT_OK(page.status());
    for (const SessionRow& s : page->sessions) seen.push_back(s.ehlo_name);
    token = page->next_page_token;
    // A session arriving meanwhile is newer than the cursor: never repeated, never skipped.
    if (pages == 0) Store({Session(100, "late")});
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 7u);

  absl::StatusOr<SessionPage> first = ListSessions(*pool_, {.page_size = 1});
  ASSERT_OK(first.status());
  absl::StatusOr<SessionPage> other = ListSessions(
      *pool_, {.filter = {.auth_user = "x"}, .page_size = 1, .page_token = first->next_page_token});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<SessionPage> edited =
      ListSessions(*pool_, {.page_size = 1, .page_token = first->next_page_token.substr(1)});
  EXPECT_EQ(edited.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SessionStoreTest, GetsTranscriptPagesAndMessageIds) {
  NewSession s = Session(1, "a");
  for (int i = 0; i < 5; ++i) {
    s.transcript.push_back(
        {absl::Microseconds(10 * i),
         i % 2 ? TranscriptRow::Direction::kClient : TranscriptRow::Direction::kServer,
         absl::StrCat("line ", i)});
  }
  NewMessage first{.received_at = kBase + absl::Minutes(1), .session_id = s.id};
  NewMessage second{.received_at = kBase + absl::Minutes(2), .session_id = s.id};
  first.id = NewId();
  second.id = NewId();
  NewMessage unrelated{.received_at = kBase};
  Store({s}, {second, first, unrelated});

  absl::StatusOr<SessionDetail> whole = GetSession(*pool_, s.id, 0, "");
  ASSERT_OK(whole.status());
  EXPECT_EQ(whole->session.transcript_line_count, 5);
  EXPECT_THAT(whole->session.message_ids, ElementsAre(first.id, second.id));
  ASSERT_EQ(whole->transcript.size(), 5u);
  EXPECT_TRUE(whole->next_transcript_page_token.empty());
  EXPECT_EQ(whole->transcript[3].text, "line 3");
  EXPECT_EQ(whole->transcript[3].direction, 'C');
  EXPECT_EQ(whole->transcript[3].time, s.started_at + absl::Microseconds(30));

  std::vector<std::string> lines;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<SessionDetail> page = GetSession(*pool_, s.id, 2, token);
    ASSERT_OK(page.status());
    for (const TranscriptLine& line : page->transcript) lines.push_back(line.text);
    token = page->next_transcript_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(lines, ElementsAre("line 0", "line 1", "line 2", "line 3", "line 4"));

  // A token of one session is refused for another.
  NewSession other = Session(2, "b");
  Store({other});
  absl::StatusOr<SessionDetail> first_page = GetSession(*pool_, s.id, 2, "");
  ASSERT_OK(first_page.status());
  absl::StatusOr<SessionDetail> wrong =
      GetSession(*pool_, other.id, 2, first_page->next_transcript_page_token);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("transcript_page_token:"));

  EXPECT_EQ(GetSession(*pool_, NewId(), 0, "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(GetSession(*pool_, "nope", 0, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SessionStoreTest, DeletesByIdsAndFiltersKeepingMessages) {
  NewSession a = Session(1, "a");
  NewSession b = Session(2, "b", "10.0.0.1");
  NewSession c = Session(3, "c", "10.0.0.2");
  NewMessage m{.received_at = kBase, .session_id = a.id};
  Store({a, b, c, Session(4, "d")}, {m});

  absl::StatusOr<int64_t> by_id = DeleteSessions(*pool_, {.ids = {a.id, NewId()}});
  ASSERT_OK(by_id.status());
  EXPECT_EQ(*by_id, 1);
  absl::StatusOr<int64_t> anded =
      DeleteSessions(*pool_, {.ids = {b.id, c.id}, .client_address = "10.0.0.2"});
  ASSERT_OK(anded.status());
  EXPECT_EQ(*anded, 1);
  EXPECT_THAT(Names({}), ElementsAre("d", "b"));
  absl::StatusOr<int64_t> all = DeleteSessions(*pool_, {});
  ASSERT_OK(all.status());
  EXPECT_EQ(*all, 2);
  EXPECT_THAT(Names({}), ElementsAre());
  absl::StatusOr<int64_t> messages = pool_->Run([](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return txn.exec("SELECT count(*) FROM messages")[0][0].as<int64_t>();
  });
  ASSERT_OK(messages.status());
  EXPECT_EQ(*messages, 1);
}

}  // namespace
}  // namespace mailroom::storage
