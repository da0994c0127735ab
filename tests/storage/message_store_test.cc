// ListMessages and DeleteMessages against a real PostgreSQL: every query operator on stored
// rows (as the ingest writer stores them, search vector included), combinations and
// negation, the mailbox filter, keyset pagination while messages keep arriving, deletion by
// query and from a mailbox, and the plans of the main queries on a table large enough for
// the planner to prefer the indexes.

#include "storage/message_store.h"

#include <atomic>
#include <map>
#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/prepared_statement>
#include <pqxx/result>
#include <pqxx/transaction>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/ingest_batch.h"
#include "storage/message_reader.h"
#include "storage/message_sql.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "storage/schema.h"
#include "tests/storage/migrated_database.h"
#include "tests/support/scratch_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

const absl::Time kBase =
    absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone());

class MessageStoreTest : public MigratedDatabaseTest {
 protected:
  // Stores `messages` as the ingest writer would.
  void Store(std::vector<NewMessage> messages) {
    std::vector<const NewMessage*> pointers;
    for (NewMessage& m : messages) {
      if (m.id.empty()) m.id = NewId();
      if (m.mailbox_ids.empty()) m.mailbox_ids = {std::string(kDefaultMailboxId)};
      if (m.raw.empty()) m.raw = "Subject: x\r\n\r\nbody\r\n";
      pointers.push_back(&m);
    }
    // In batches no larger than the ingest writer's: the inserter prepares one statement
    // per batch size.
    constexpr size_t kBatch = 64;
    BatchInserter inserter;
    for (size_t start = 0; start < pointers.size(); start += kBatch) {
      const auto batch = absl::MakeConstSpan(pointers).subspan(start, kBatch);
      ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
        pqxx::work txn(conn);
        inserter.Insert(txn, batch, {});
        txn.commit();
      }));
    }
  }

  // The subjects ListMessages returns for `query` (first page of 1000), newest first.
  std::vector<std::string> Subjects(absl::string_view query, absl::string_view mailbox = "") {
    absl::StatusOr<MessageFilter> filter = ParseQuery(query);
    EXPECT_OK(filter.status());
    if (!filter.ok()) return {};
    absl::StatusOr<MessagePage> page = ListMessages(
        *pool_, {.mailbox = std::string(mailbox), .filter = *filter, .page_size = 1000});
    EXPECT_OK(page.status());
    if (!page.ok()) return {};
    std::vector<std::string> subjects;
    for (const MessageSummaryRow& m : page->messages) subjects.push_back(m.subject);
    return subjects;
  }

  // The same, read in pages of `page_size` (at most ten messages).
  std::vector<std::string> PagedSubjects(absl::string_view query, absl::string_view mailbox,
                                         int page_size) {
    absl::StatusOr<MessageFilter> filter = ParseQuery(query);
    EXPECT_OK(filter.status());
    if (!filter.ok()) return {};
    std::vector<std::string> subjects;
    std::string token;
    do {
      absl::StatusOr<MessagePage> page = ListMessages(*pool_, {.mailbox = std::string(mailbox),
                                                               .filter = *filter,
                                                               .page_size = page_size,
                                                               .page_token = token});
      EXPECT_OK(page.status());
      if (!page.ok()) break;
      for (const MessageSummaryRow& m : page->messages) subjects.push_back(m.subject);
      token = page->next_page_token;
    } while (!token.empty() && subjects.size() < 10);
    return subjects;
  }
};

// `size` bytes of raw message. NewMessage::raw does not own its bytes: these live forever.
absl::string_view Raw(size_t size) {
  static const std::string* const kBytes = new std::string(64 * 1024, 'x');
  return absl::string_view(*kBytes).substr(0, size);
}

// Five messages, one minute apart, "a" oldest.
std::vector<NewMessage> Corpus() {
  std::vector<NewMessage> m(5);
  m[0] = {.received_at = kBase,
          .session_id = "0190a5c4-0000-7000-8000-000000000001",
          .auth_user = "app",
          .envelope_from = "noreply@example.com",
          .mail_parameters = {{"SIZE", "100"}, {"SMTPUTF8", ""}},
          .recipients = {{.address = "alice@example.com",
                          .dsn_notify = "SUCCESS",
                          .parameters = {{"NOTIFY", "SUCCESS"}}},
                         {.address = "hidden@corp.test"}},
          .from_header = "No Reply <noreply@example.com>",
          .to_header = "Alice <alice@example.com>",
          .subject = "a Password reset",
          .date_header = kBase - absl::Seconds(5),
          .message_id_header = "id-a@example.com",
          .search_text = "Click the link to reset your password. Daily report follows.",
          .raw = Raw(100)};
  m[1] = {.received_at = kBase + absl::Minutes(1),
          .envelope_from = "billing@shop.test",
          .recipients = {{.address = "bob@example.com"}},
          .from_header = "\"Billing, Shop\" <billing@shop.test>",
          .to_header = "bob@example.com",
          .cc_header = "Carol <carol@corp.test>",
          .subject = "b Invoice 50% off_sale",
          .has_attachments = true,
          .search_text = "Your invoice is attached. report daily",
          .raw = Raw(20 * 1024)};
  m[2] = {.received_at = kBase + absl::Minutes(2),
          .envelope_from = "",
          .recipients = {{.address = "ops@corp.test"}},
          .subject = "c Alerts",
          .search_text = "disk full on host Ünïcode",
          .raw = Raw(3000)};
  m[3] = {.received_at = kBase + absl::Minutes(3),
          .envelope_from = "alerts@monitor.test",
          .recipients = {{.address = "alice@example.com"}},
          .from_header = "alerts@monitor.test",
          .to_header = "alice@example.com",
          .subject = "d Weekly",
          .search_text = "nothing to see",
          .mailbox_ids = {std::string(kQaMailboxId), std::string(kDefaultMailboxId)},
          .raw = Raw(500)};
  m[4] = {.received_at = kBase + absl::Hours(24),
          .envelope_from = "noreply@example.com",
          .recipients = {{.address = "dave@other.test"}},
          .from_header = "noreply@example.com",
          .subject = "e Password changed",
          .search_text = "your password was changed",
          .mailbox_ids = {std::string(kQaMailboxId)},
          .raw = Raw(1024)};
  return m;
}

TEST_F(MessageStoreTest, EveryOperatorCombinationAndNegation) {
  std::vector<NewMessage> corpus = Corpus();
  Store(corpus);
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params(
        "UPDATE messages SET is_read = true WHERE subject LIKE 'b %' OR subject "
        "LIKE 'd %'");
    txn.commit();
  }));
  using V = std::vector<std::string>;
  EXPECT_EQ(Subjects(""), (V{"e Password changed", "d Weekly", "c Alerts", "b Invoice 50% off_sale",
                             "a Password reset"}));
  // Words: subject and body, case-insensitive, whole words.
  EXPECT_EQ(Subjects("password"), (V{"e Password changed", "a Password reset"}));
  EXPECT_EQ(Subjects("INVOICE"), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("passw"), V{});
  EXPECT_EQ(Subjects("ünïcode"), (V{"c Alerts"}));
  EXPECT_EQ(Subjects("password reset"), (V{"a Password reset"}));
  // Phrases: adjacent, in order.
  EXPECT_EQ(Subjects("\"daily report\""), (V{"a Password reset"}));
  EXPECT_EQ(Subjects("\"report daily\""), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("-\"daily report\""),
            (V{"e Password changed", "d Weekly", "c Alerts", "b Invoice 50% off_sale"}));
  // from: header (name or address) or envelope sender.
  EXPECT_EQ(Subjects("from:noreply"), (V{"e Password changed", "a Password reset"}));
  EXPECT_EQ(Subjects("from:\"billing, shop\""), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("from:MONITOR.test"), (V{"d Weekly"}));
  EXPECT_EQ(Subjects("-from:example.com"), (V{"d Weekly", "c Alerts", "b Invoice 50% off_sale"}));
  // to: envelope recipients, To and Cc.
  EXPECT_EQ(Subjects("to:alice@example.com"), (V{"d Weekly", "a Password reset"}));
  EXPECT_EQ(Subjects("to:hidden@"), (V{"a Password reset"}));
  EXPECT_EQ(Subjects("to:carol"), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("to:@corp.test"),
            (V{"c Alerts", "b Invoice 50% off_sale", "a Password reset"}));
  EXPECT_EQ(Subjects("cc:carol"), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("-cc:carol"),
            (V{"e Password changed", "d Weekly", "c Alerts", "a Password reset"}));
  EXPECT_EQ(Subjects("subject:\"password r\""), (V{"a Password reset"}));
  // LIKE wildcards in values are literal.
  EXPECT_EQ(Subjects("subject:50%"), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("subject:f_s"), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("subject:5%o"), V{});
  EXPECT_EQ(Subjects("subject:%"), (V{"b Invoice 50% off_sale"}));
  // Flags.
  EXPECT_EQ(Subjects("is:read"), (V{"d Weekly", "b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("is:unread"), (V{"e Password changed", "c Alerts", "a Password reset"}));
  EXPECT_EQ(Subjects("-is:unread"), (V{"d Weekly", "b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("has:attachment"), (V{"b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("-has:attachment is:unread"),
            (V{"e Password changed", "c Alerts", "a Password reset"}));
  // Times: after is inclusive, before exclusive; dates are UTC days.
  EXPECT_EQ(Subjects("after:2024-05-01T10:02:00Z"),
            (V{"e Password changed", "d Weekly", "c Alerts"}));
  EXPECT_EQ(Subjects("before:2024-05-01T12:01:00+02:00"), (V{"a Password reset"}));
  EXPECT_EQ(Subjects("after:2024-05-01 before:2024-05-02"),
            (V{"d Weekly", "c Alerts", "b Invoice 50% off_sale", "a Password reset"}));
  EXPECT_EQ(Subjects("-before:2024-05-02"), (V{"e Password changed"}));
  // Sizes: strict comparisons.
  EXPECT_EQ(Subjects("larger:1k"), (V{"c Alerts", "b Invoice 50% off_sale"}));
  EXPECT_EQ(Subjects("smaller:1k"), (V{"d Weekly", "a Password reset"}));
  EXPECT_EQ(Subjects("larger:10k smaller:20k"), V{});
  EXPECT_EQ(Subjects("larger:100 smaller:3001"), (V{"e Password changed", "d Weekly", "c Alerts"}));
  // Combinations.
  EXPECT_EQ(Subjects("password -from:noreply"), V{});
  EXPECT_EQ(Subjects("to:alice is:unread password"), (V{"a Password reset"}));
  EXPECT_EQ(Subjects("invoice -\"nothing\" from:billing has:attachment larger:10k"),
            (V{"b Invoice 50% off_sale"}));
}

TEST_F(MessageStoreTest, SummaryCarriesEveryField) {
  std::vector<NewMessage> corpus = Corpus();
  Store({corpus[0]});
  absl::StatusOr<MessagePage> page = ListMessages(*pool_, {});
  ASSERT_OK(page.status());
  ASSERT_EQ(page->messages.size(), 1u);
  const MessageSummaryRow& m = page->messages[0];
  EXPECT_TRUE(IsValidId(m.id));
  EXPECT_THAT(m.mailboxes, ElementsAre("default"));
  EXPECT_EQ(m.envelope_from, "noreply@example.com");
  ASSERT_EQ(m.mail_parameters.size(), 2u);
  EXPECT_EQ(m.mail_parameters[0].keyword, "SIZE");
  EXPECT_EQ(m.mail_parameters[0].value, "100");
  EXPECT_EQ(m.mail_parameters[1].keyword, "SMTPUTF8");
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[0].address, "alice@example.com");
  ASSERT_EQ(m.recipients[0].parameters.size(), 1u);
  EXPECT_EQ(m.recipients[0].parameters[0].value, "SUCCESS");
  EXPECT_EQ(m.recipients[1].address, "hidden@corp.test");
  EXPECT_TRUE(m.recipients[1].parameters.empty());
  EXPECT_EQ(m.from_header, "No Reply <noreply@example.com>");
  EXPECT_EQ(m.to_header, "Alice <alice@example.com>");
  EXPECT_EQ(m.cc_header, "");
  EXPECT_EQ(m.subject, "a Password reset");
  EXPECT_EQ(m.date, kBase - absl::Seconds(5));
  EXPECT_EQ(m.message_id_header, "id-a@example.com");
  EXPECT_EQ(m.size_bytes, 100);
  EXPECT_FALSE(m.read);
  EXPECT_FALSE(m.has_attachments);
  EXPECT_EQ(m.received_at, kBase);
  EXPECT_EQ(m.session_id, "0190a5c4-0000-7000-8000-000000000001");
  EXPECT_EQ(m.auth_user, "app");
  EXPECT_TRUE(page->next_page_token.empty());
}

// The raw bytes come back exactly from both readers, as text for plain ASCII (migration
// 0009) and as bytea with NUL, 8-bit or any other byte.
TEST_F(MessageStoreTest, RawBytesComeBackExactly) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  const std::vector<std::string> raws = {
      "Subject: plain\r\n\r\nback\\slash \\x41 and \\\\ two, \x01 \x7f\r\n",
      absl::StrCat("Subject: mixed\r\n\r\n", std::string(2000, 'a'), all_bytes, "\r\n"),
      absl::StrCat("\\x", std::string(300, '\xd0'), all_bytes, std::string(300, '\x80'))};
  std::vector<std::string> ids;
  std::vector<NewMessage> messages;
  for (const std::string& raw : raws) {
    ids.push_back(NewId());
    messages.push_back({.id = ids.back(), .received_at = kBase, .raw = raw});
  }
  Store(std::move(messages));
  std::vector<bool> ascii;
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    for (const pqxx::row& row : txn.exec("SELECT raw_ascii FROM messages ORDER BY size_bytes")) {
      ascii.push_back(row[0].as<bool>());
    }
  }));
  EXPECT_THAT(ascii, ElementsAre(true, false, false));  // the plain one is the shortest
  for (size_t i = 0; i < raws.size(); ++i) {
    SCOPED_TRACE(i);
    absl::StatusOr<MessageRecord> record = GetMessageRecord(*pool_, ids[i], /*with_raw=*/true);
    ASSERT_OK(record.status());
    EXPECT_EQ(record->raw, raws[i]);
    absl::StatusOr<std::string> raw = ReadRaw(*pool_, ids[i]);
    ASSERT_OK(raw.status());
    EXPECT_EQ(*raw, raws[i]);
  }
}

// GetMessageRecord reads everything in one statement: the lists come back as arrays in their
// order, with values that need quoting in an array literal, and the raw bytes when asked.
TEST_F(MessageStoreTest, GetMessageRecordReadsEveryListInOrder) {
  const std::string id = NewId();
  const std::string raw = std::string("Subject: x\r\n\r\n") + '\0' + "\xff\"{,}\\ body\r\n";
  NewMessage m{.id = id,
               .received_at = kBase,
               .envelope_from = "s@example.com",
               .mail_parameters = {{"SIZE", "100"}, {"SMTPUTF8", ""}, {"ENVID", "a\"b,c{d}\\e"}},
               .recipients = {{.address = "first@example.com"},
                              {.address = "\"odd, one\"@example.com",
                               .parameters = {{"NOTIFY", "SUCCESS,FAILURE"},
                                              {"ORCPT", "rfc822;Ünï@example.com"}}},
                              {.address = "third@example.com", .parameters = {{"NOTIFY", ""}}}},
               .subject = "lists",
               .mailbox_ids = {std::string(kDefaultMailboxId), std::string(kQaMailboxId)},
               .raw = raw};
  Store({m});

  absl::StatusOr<MessageRecord> record = GetMessageRecord(*pool_, id, /*with_raw=*/true);
  ASSERT_OK(record.status());
  const MessageSummaryRow& s = record->summary;
  ASSERT_EQ(s.mail_parameters.size(), 3u);
  EXPECT_EQ(s.mail_parameters[1].keyword, "SMTPUTF8");
  EXPECT_EQ(s.mail_parameters[1].value, "");
  EXPECT_EQ(s.mail_parameters[2].value, "a\"b,c{d}\\e");
  ASSERT_EQ(s.recipients.size(), 3u);
  EXPECT_EQ(s.recipients[1].address, "\"odd, one\"@example.com");
  EXPECT_TRUE(s.recipients[0].parameters.empty());
  ASSERT_EQ(s.recipients[1].parameters.size(), 2u);
  EXPECT_EQ(s.recipients[1].parameters[0].value, "SUCCESS,FAILURE");
  EXPECT_EQ(s.recipients[1].parameters[1].value, "rfc822;Ünï@example.com");
  ASSERT_EQ(s.recipients[2].parameters.size(), 1u);
  EXPECT_EQ(s.recipients[2].parameters[0].keyword, "NOTIFY");
  // Mailbox order: position, then name.
  EXPECT_THAT(s.mailboxes, ElementsAre("default", "qa"));
  EXPECT_EQ(record->raw, raw);

  absl::StatusOr<MessageRecord> without_raw = GetMessageRecord(*pool_, id);
  ASSERT_OK(without_raw.status());
  EXPECT_TRUE(without_raw->raw.empty());
  EXPECT_EQ(without_raw->summary.recipients.size(), 3u);
  EXPECT_EQ(GetMessageRecord(*pool_, NewId()).status().code(), absl::StatusCode::kNotFound);
}

// Address values the dictionary cannot answer exactly (a comma, surrounding space) are
// matched on the columns, with the same results as any other from: or to:.
TEST_F(MessageStoreTest, AddressValuesWithCommasMatchWholeHeaders) {
  Store(Corpus());
  EXPECT_THAT(Subjects("from:\"Billing, Shop\""), ElementsAre("b Invoice 50% off_sale"));
  EXPECT_THAT(Subjects("from:billing@shop"), ElementsAre("b Invoice 50% off_sale"));
  EXPECT_THAT(Subjects("to:\"Carol <carol\""), ElementsAre("b Invoice 50% off_sale"));
}

TEST_F(MessageStoreTest, MailboxFilter) {
  Store(Corpus());
  using V = std::vector<std::string>;
  EXPECT_EQ(Subjects("", "qa"), (V{"e Password changed", "d Weekly"}));
  EXPECT_EQ(Subjects("password", "qa"), (V{"e Password changed"}));
  EXPECT_EQ(Subjects("", "default").size(), 4u);
  absl::StatusOr<MessagePage> page = ListMessages(*pool_, {.mailbox = "qa"});
  ASSERT_OK(page.status());
  EXPECT_THAT(page->messages[1].mailboxes, ElementsAre("default", "qa"));
  absl::StatusOr<MessagePage> missing = ListMessages(*pool_, {.mailbox = "nope"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("mailbox: "));
}

TEST_F(MessageStoreTest, PageTokensAreBoundToTheirListing) {
  Store(Corpus());
  absl::StatusOr<MessagePage> first = ListMessages(*pool_, {.page_size = 2});
  ASSERT_OK(first.status());
  ASSERT_FALSE(first->next_page_token.empty());
  absl::StatusOr<MessageFilter> filter = ParseQuery("password");
  ASSERT_OK(filter.status());
  absl::StatusOr<MessagePage> other =
      ListMessages(*pool_, {.filter = *filter, .page_token = first->next_page_token});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("page_token: "));
  EXPECT_EQ(
      ListMessages(*pool_, {.mailbox = "qa", .page_token = first->next_page_token}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ListMessages(*pool_, {.page_size = 1001}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Pages through 120 messages, 7 at a time, while another thread keeps storing new ones:
// every message that existed at the start is seen exactly once, nothing is seen twice, and
// the order is strictly newest first.
TEST_F(MessageStoreTest, PaginationIsConsistentUnderConcurrentInserts) {
  for (const std::string mailbox : {"", "qa"}) {
    SCOPED_TRACE(mailbox);
    std::set<std::string> initial;
    std::vector<NewMessage> batch;
    for (int i = 0; i < 120; ++i) {
      NewMessage m{.id = NewId(),
                   .received_at = absl::Now() - absl::Seconds(1000 - i / 3),  // ties on time
                   .envelope_from = "x@example.com",
                   .subject = absl::StrCat("old ", i),
                   .mailbox_ids = {std::string(kQaMailboxId), std::string(kDefaultMailboxId)}};
      initial.insert(m.id);
      batch.push_back(std::move(m));
    }
    Store(std::move(batch));

    std::atomic<bool> stop = false;
    std::thread writer([&] {
      while (!stop) {
        Store({{.received_at = absl::Now(),
                .envelope_from = "y@example.com",
                .subject = "new",
                .mailbox_ids = {std::string(kQaMailboxId)}}});
      }
    });
    std::vector<std::string> seen;
    std::vector<absl::Time> times;
    std::string token;
    int pages = 0;
    do {
      absl::StatusOr<MessagePage> page =
          ListMessages(*pool_, {.mailbox = mailbox, .page_size = 7, .page_token = token});
      ASSERT_OK(page.status());
      for (const MessageSummaryRow& m : page->messages) {
        seen.push_back(m.id);
        if (!times.empty()) {
          ASSERT_TRUE(m.received_at < times.back() ||
                      (m.received_at == times.back() && m.id < seen[seen.size() - 2]));
        }
        times.push_back(m.received_at);
      }
      token = page->next_page_token;
      ++pages;
    } while (!token.empty() && pages < 1000);
    stop = true;
    writer.join();
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "an item was repeated";
    for (const std::string& id : initial) EXPECT_TRUE(unique.contains(id)) << id;
    // Clean up for the second round.
    ASSERT_OK(DeleteMessages(*pool_, "", {}).status());
  }
}

// Terms in few messages far back are found (the bounded walk of the newest rows misses them
// and the matches are collected through the indexes), and paging through matches that
// straddle the walked rows and older ones neither skips nor repeats, with and without a
// mailbox; the same for addresses, which PostgreSQL plans alone (ListPlan).
TEST_F(MessageStoreTest, RareTermsBeyondTheBoundedWalkAreFoundAndPaged) {
  const int count = kRecentWalkRows + 500;
  std::vector<NewMessage> many;
  for (int i = 0; i < count; ++i) {
    // The oldest three and the newest two are the needles; the rest is hay.
    const bool needle = i < 3 || i >= count - 2;
    many.push_back({.received_at = kBase + absl::Seconds(i),
                    .envelope_from = needle ? "needle@rare.example" : "hay@example.com",
                    .recipients = {{.address = needle ? "pin@rare.example" : "straw@example.com"}},
                    .subject = absl::StrCat(needle ? "needle " : "", "hay ", i),
                    .mailbox_ids = {std::string(kQaMailboxId)}});
  }
  Store(std::move(many));
  const std::vector<std::string> expected = {absl::StrCat("needle hay ", count - 1),
                                             absl::StrCat("needle hay ", count - 2), "needle hay 2",
                                             "needle hay 1", "needle hay 0"};
  for (const char* query : {"needle", "from:needle@rare", "to:pin@rare"}) {
    for (const std::string mailbox : {"", "qa"}) {
      SCOPED_TRACE(absl::StrCat(query, " in `", mailbox, "`"));
      EXPECT_THAT(Subjects(query, mailbox), ElementsAreArray(expected));
      EXPECT_THAT(PagedSubjects(query, mailbox, 2), ElementsAreArray(expected));
    }
  }
  // Frequent terms fill their page from the walk alone, newest first.
  const std::string newest_hay = absl::StrCat("hay ", count - 3);
  for (const auto& [query, newest] : {std::pair<const char*, std::string>{"hay", expected.front()},
                                      {"from:hay@example", newest_hay},
                                      {"to:straw@", newest_hay}}) {
    const std::vector<std::string> found = Subjects(query);
    ASSERT_EQ(found.size(), 1000u) << query;
    EXPECT_EQ(found.front(), newest) << query;
  }
}

TEST(MatchWindowRowsTest, FollowsTheWalksRateUpToTheLargestWindow) {
  EXPECT_EQ(MatchWindowRows(0, 51), 0);  // nothing in the walk: collect every match
  EXPECT_EQ(MatchWindowRows(10, 51), 2 * kRecentWalkRows * 51 / 10);
  EXPECT_EQ(MatchWindowRows(50, 51), 2 * kRecentWalkRows * 51 / 50);
  EXPECT_EQ(MatchWindowRows(1, 51), 0);  // beyond kMaxMatchWindowRows
  EXPECT_LE(MatchWindowRows(1, 2), kMaxMatchWindowRows);
}

// A term with fewer matches in the walk than a page asks for is looked for among the newest
// rows the walk's rate predicts (MatchWindowRows), and among all rows when that window
// falls short; pages through both neither skip nor repeat, with and without a mailbox.
TEST_F(MessageStoreTest, SparseTermsAreFoundInTheirWindowAndBeyondIt) {
  // A page of one asks for two rows; one match in the walk gives this window.
  const int window = MatchWindowRows(1, 2);
  ASSERT_GT(window, kRecentWalkRows);
  const int count = window + 3000;
  const int newest = count - 1;
  // Counted back from the newest: a needle in the walk, one past the walk but in the
  // window, one beyond the window. "pin" has no match in the window past the walk.
  const std::map<int, std::string> marks = {{newest - 10, "needle pin "},
                                            {newest - kRecentWalkRows - 100, "needle "},
                                            {newest - window - 1000, "needle pin "}};
  std::vector<NewMessage> many;
  for (int i = 0; i < count; ++i) {
    const auto mark = marks.find(i);
    many.push_back({.received_at = kBase + absl::Seconds(i),
                    .subject = absl::StrCat(mark == marks.end() ? "" : mark->second, "hay ", i),
                    .mailbox_ids = {std::string(kQaMailboxId)}});
  }
  Store(std::move(many));
  const auto subject = [](int i, const char* mark) { return absl::StrCat(mark, "hay ", i); };
  const std::vector<std::pair<const char*, std::vector<std::string>>> cases = {
      {"needle",
       {subject(newest - 10, "needle pin "), subject(newest - kRecentWalkRows - 100, "needle "),
        subject(newest - window - 1000, "needle pin ")}},
      {"pin",
       {subject(newest - 10, "needle pin "), subject(newest - window - 1000, "needle pin ")}}};
  for (const auto& [query, expected] : cases) {
    for (const std::string mailbox : {"", "qa"}) {
      SCOPED_TRACE(absl::StrCat(query, " in `", mailbox, "`"));
      EXPECT_THAT(Subjects(query, mailbox), ElementsAreArray(expected));
      EXPECT_THAT(PagedSubjects(query, mailbox, 1), ElementsAreArray(expected));
    }
  }
}

TEST_F(MessageStoreTest, DeleteMessagesByQueryAndFromMailbox) {
  Store(Corpus());
  absl::StatusOr<MessageFilter> password = ParseQuery("password");
  ASSERT_OK(password.status());
  // From qa: "e" is only in qa (deleted outright); "d" is in qa and default (unlinked).
  absl::StatusOr<MessageFilter> none = ParseQuery("");
  ASSERT_OK(none.status());
  absl::StatusOr<int64_t> removed = DeleteMessages(*pool_, "qa", *none);
  ASSERT_OK(removed.status());
  EXPECT_EQ(*removed, 2);
  using V = std::vector<std::string>;
  EXPECT_EQ(Subjects("", "qa"), V{});
  EXPECT_EQ(Subjects(""),
            (V{"d Weekly", "c Alerts", "b Invoice 50% off_sale", "a Password reset"}));
  absl::StatusOr<MessagePage> d = ListMessages(*pool_, {.page_size = 1});
  ASSERT_OK(d.status());
  EXPECT_THAT(d->messages[0].mailboxes, ElementsAre("default"));

  removed = DeleteMessages(*pool_, "", *password);
  ASSERT_OK(removed.status());
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(Subjects(""), (V{"d Weekly", "c Alerts", "b Invoice 50% off_sale"}));
  // Recipients and links went with the message (cascade).
  absl::StatusOr<int64_t> orphans = pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    return txn
        .exec(
            "SELECT (SELECT count(*) FROM message_recipients WHERE address LIKE 'hidden%') + "
            "(SELECT count(*) FROM message_mailboxes x WHERE NOT EXISTS (SELECT 1 FROM "
            "messages m WHERE m.id = x.message_id))")[0][0]
        .as<int64_t>();
  });
  ASSERT_OK(orphans.status());
  EXPECT_EQ(*orphans, 0);

  EXPECT_EQ(DeleteMessages(*pool_, "nope", *none).status().code(), absl::StatusCode::kNotFound);
  removed = DeleteMessages(*pool_, "", *none);
  ASSERT_OK(removed.status());
  EXPECT_EQ(*removed, 3);
  EXPECT_EQ(Subjects(""), V{});
}

TEST_F(MessageStoreTest, DeleteMessagesWorksInBatches) {
  std::vector<NewMessage> many;
  for (int i = 0; i < 1234; ++i) {
    many.push_back({.received_at = kBase + absl::Seconds(i), .subject = "bulk"});
  }
  Store(std::move(many));
  absl::StatusOr<MessageFilter> filter = ParseQuery("subject:bulk");
  ASSERT_OK(filter.status());
  absl::StatusOr<int64_t> removed = DeleteMessages(*pool_, "default", *filter);
  ASSERT_OK(removed.status());
  EXPECT_EQ(*removed, 1234);
  EXPECT_TRUE(Subjects("").empty());
}

// The plan of `statement`, as text.
std::string Plan(ConnectionPool& pool, const SqlStatement& statement) {
  absl::StatusOr<std::string> plan = pool.Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    std::string text;
    for (const pqxx::row& row : txn.exec_params(
             "EXPLAIN " + statement.sql, pqxx::prepare::make_dynamic_params(statement.params))) {
      absl::StrAppend(&text, row[0].c_str(), "\n");
    }
    return text;
  });
  EXPECT_OK(plan.status());
  return plan.ok() ? *plan : "";
}

TEST_F(MessageStoreTest, MainQueriesUseTheirIndexes) {
  // 100,000 messages, a few with rare values, bulk-loaded in SQL like the ingest would store
  // them (only the columns the plans depend on vary).
  ASSERT_OK(pool_->Run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec(R"sql(
INSERT INTO messages (id, received_at, envelope_from, size_bytes, from_header, to_header,
  subject, raw, search_vector, sender_search, recipient_search)
SELECT gen_random_uuid(), timestamptz '2024-01-01' + g * interval '1 second',
  'sender' || (g % 500) || '@example.com', 4000,
  CASE WHEN g % 10000 = 0 THEN 'Rare Person <rare.person@example.org>'
    ELSE 'Sender ' || (g % 500) || ' <sender' || (g % 500) || '@example.com>' END,
  'user' || (g % 1000) || '@example.com',
  'Subject number ' || g, '',
  -- A spread of word frequencies, as in real mail, so that ANALYZE has lexeme statistics
  -- that tell a rare word from a common one.
  to_tsvector('simple', 'Subject number ' || g || ' w' || (g % 50) || ' x' || (g % 300)
    || ' y' || (g % 2000)
    || CASE WHEN g % 10000 = 0 THEN ' zanzibar' ELSE '' END),
  '', ''
FROM generate_series(1, 100000) g)sql");
    // The address search columns as the ingest statement fills them, with a rare recipient.
    txn.exec(R"sql(
UPDATE messages SET sender_search = concat_ws(E'\n', envelope_from, from_header),
  recipient_search = CASE WHEN size_bytes = 4000 AND subject LIKE '%5000'
    THEN 'rare.recipient@example.net' ELSE to_header END)sql");
    // Their links to the address dictionary, as the ingest statement makes them.
    txn.exec(R"sql(
CREATE TEMPORARY TABLE address_links ON COMMIT DROP AS
SELECT p.address_id, p.role, m.received_at, m.id AS message_id, p.piece
FROM messages m, mailroom_address_pieces(m.sender_search, m.recipient_search) p;
INSERT INTO addresses (id, text)
SELECT DISTINCT ON (address_id) address_id, piece FROM address_links;
INSERT INTO message_addresses (address_id, role, received_at, message_id)
SELECT address_id, role, received_at, message_id FROM address_links)sql");
    txn.exec(R"sql(
INSERT INTO message_mailboxes (mailbox_id, message_id, received_at)
SELECT CASE WHEN random() < 0.5 THEN '00000000-0000-7000-8000-000000000001'::uuid
  ELSE '00000000-0000-7000-8000-0000000000aa'::uuid END, id, received_at FROM messages)sql");
    txn.exec(
        "INSERT INTO message_recipients (message_id, position, address) SELECT id, 0, "
        "to_header FROM messages");
    txn.commit();
    pqxx::nontransaction analyze(conn);
    analyze.exec("ANALYZE");
  }));
  const auto filter = [](absl::string_view query) {
    absl::StatusOr<MessageFilter> parsed = ParseQuery(query);
    EXPECT_OK(parsed.status());
    return parsed.ok() ? *parsed : MessageFilter{};
  };
  EXPECT_THAT(Plan(*pool_, ListStatement(std::nullopt, {}, std::nullopt, 51)),
              HasSubstr("messages_received_idx"));
  EXPECT_THAT(Plan(*pool_, ListStatement(std::nullopt, {},
                                         PageCursor{.received_us = 1704100000000000,
                                                    .id = "00000000-0000-7000-8000-000000000000"},
                                         51)),
              HasSubstr("messages_received_idx"));
  EXPECT_THAT(Plan(*pool_, ListStatement(std::string(kQaMailboxId), {}, std::nullopt, 51)),
              HasSubstr("message_mailboxes_pkey"));
  EXPECT_THAT(Plan(*pool_, ListStatement(std::nullopt, filter("zanzibar"), std::nullopt, 51)),
              HasSubstr("messages_search_idx"));
  EXPECT_THAT(
      Plan(*pool_, ListStatement(std::nullopt, filter("\"number 20000\""), std::nullopt, 51)),
      HasSubstr("messages_search_idx"));
  // The two plans ListMessages runs for words (ListPlan): the bounded walk of the newest
  // rows, then the matches through the search index, with and without a mailbox.
  for (const std::optional<std::string>& mailbox :
       {std::optional<std::string>(), std::optional<std::string>(kQaMailboxId)}) {
    EXPECT_THAT(
        Plan(*pool_, ListStatement(mailbox, filter("x7"), std::nullopt, 51, ListPlan::kRecentWalk)),
        HasSubstr(mailbox.has_value() ? "message_mailboxes_pkey" : "messages_received_idx"));
    EXPECT_THAT(Plan(*pool_, ListStatement(mailbox, filter("x7"), std::nullopt, 51,
                                           ListPlan::kMatchesFirst)),
                HasSubstr("messages_search_idx"));
    // Narrowed to a window (the newest ~20,800 rows): for a term in 2,000 rows, the search
    // index and the time index together, so that only the window's ~400 matches are read.
    const std::string windowed =
        Plan(*pool_, ListStatement(mailbox, filter("w7"), std::nullopt, 51, ListPlan::kMatchesFirst,
                                   "2024-01-01 22:00:00+00"));
    EXPECT_THAT(windowed, HasSubstr("BitmapAnd"));
    EXPECT_THAT(windowed, HasSubstr("messages_search_idx"));
    EXPECT_THAT(windowed, HasSubstr("messages_received_idx"));
  }
  // Addresses: the matching dictionary entries (a scan of its 1,500 rows here, its trigram
  // index when larger), then their newest links from the links' key (a lone from: or to:),
  // or their messages for the other conditions, with and without a mailbox.
  for (const std::optional<std::string>& mailbox :
       {std::optional<std::string>(), std::optional<std::string>(kQaMailboxId)}) {
    for (const char* query : {"from:rare.person", "to:rare.recipient", "from:rare.person x7"}) {
      const std::string plan = Plan(
          *pool_, ListStatement(mailbox, filter(query), std::nullopt, 51, ListPlan::kMatchesFirst));
      EXPECT_THAT(plan, HasSubstr("on addresses a")) << query;
      EXPECT_THAT(plan, HasSubstr("message_addresses_pkey")) << query;
    }
  }
  EXPECT_THAT(Plan(*pool_, ListStatement(std::nullopt, filter("subject:\"number 29999\""),
                                         std::nullopt, 51)),
              HasSubstr("messages_subject_trgm_idx"));
}

}  // namespace
}  // namespace mailroom::storage
