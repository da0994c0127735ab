// IngestWriter against a real PostgreSQL: every column stored, raw bytes exact, concurrent
// submitters, a failing row failing its whole batch, database down and back, the bounded
// queue, Stop draining, when a second writer starts, and session transcripts with hostile
// text.
//
// Batches are made deterministic with a table lock held on a separate connection: the
// writer blocks on its first message while the next ones queue behind it.

#include "storage/ingest_writer.h"

#include <atomic>
#include <memory>
#include <optional>
#include <pqxx/binarystring>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "storage/ids.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "storage/schema.h"
#include "storage/text_encoding.h"
#include "tests/support/private_cluster.h"
#include "tests/support/scratch_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using absl::StatusCode;
using namespace std::string_literals;

// Records the Done calls of n submissions.
class Outcomes {
 public:
  explicit Outcomes(int n) : statuses_(n), calls_(n, 0) {}

  IngestWriter::Done For(int i) {
    return [this, i](absl::Status status) {
      absl::MutexLock lock(&mu_);
      statuses_[i] = std::move(status);
      ++calls_[i];
      ++total_;
    };
  }

  // Waits until every submission's Done ran at least once.
  void WaitAll() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Outcomes* self) { return self->total_ >= static_cast<int>(self->calls_.size()); },
        this));
  }

  absl::Status status(int i) {
    absl::MutexLock lock(&mu_);
    return statuses_[i].value_or(absl::InternalError("Done not called"));
  }
  int calls(int i) {
    absl::MutexLock lock(&mu_);
    return calls_[i];
  }
  bool called(int i) { return calls(i) > 0; }

 private:
  absl::Mutex mu_;
  std::vector<std::optional<absl::Status>> statuses_ ABSL_GUARDED_BY(mu_);
  std::vector<int> calls_ ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
  return bytes;
}

// A message filed in the default mailbox, owning its raw bytes like the engine would.
NewMessage MakeMessage(std::string raw) {
  auto owner = std::make_shared<const std::string>(std::move(raw));
  NewMessage message;
  message.id = NewId();
  message.received_at = absl::Now();
  message.envelope_from = "sender@example.com";
  message.recipients = {{.address = "rcpt@example.com"}};
  message.mailbox_ids = {std::string(kDefaultMailboxId)};
  message.raw = *owner;
  message.raw_owner = owner;
  return message;
}

// Holds ACCESS EXCLUSIVE on a table until Release(), so that the writer's INSERT waits.
class TableLock {
 public:
  TableLock(const std::string& url, const std::string& table)
      : conn_(url), txn_(std::make_unique<pqxx::work>(conn_)) {
    txn_->exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
  }
  void Release() {
    if (txn_ != nullptr) txn_->abort();
    txn_.reset();
  }
  ~TableLock() { Release(); }

 private:
  pqxx::connection conn_;
  std::unique_ptr<pqxx::work> txn_;
};

// Waits until `done(writer.Stats())` holds; fails after a minute rather than hang the test
// (when no writer ever gets to it).
void WaitUntil(IngestWriter& writer, absl::FunctionRef<bool(const IngestStats&)> done,
               absl::string_view what) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!done(writer.Stats())) {
    if (absl::Now() > deadline) {
      ADD_FAILURE() << "the writers did not get to this within a minute: " << what;
      return;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Waits until the writer threads have taken everything queued.
void WaitUntilTaken(IngestWriter& writer) {
  WaitUntil(
      writer,
      [](const IngestStats& stats) {
        return stats.queued_messages == 0 && stats.queued_sessions == 0;
      },
      "take the queued work");
}

// Submits `message` and waits until a writer has taken it (with a table locked, that writer
// is then held inside its transaction).
void SubmitAndWaitUntilTaken(IngestWriter& writer, NewMessage message, IngestWriter::Done done) {
  writer.Submit(std::move(message), std::move(done));
  WaitUntilTaken(writer);
}

NewSession MakeSession() {
  NewSession session;
  session.id = NewId();
  session.client_address = "192.0.2.1";
  session.outcome = std::string(kOutcomeQuit);
  return session;
}

class IngestWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::ScratchDatabase> db = testing::ScratchDatabase::Create();
    ASSERT_OK(db);
    db_ = std::make_unique<testing::ScratchDatabase>(*std::move(db));
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool =
        ConnectionPool::Create({.url = db_->url(), .size = 2});
    ASSERT_OK(pool);
    pool_ = *std::move(pool);
    ASSERT_OK(Migrate(*pool_));
  }

  std::unique_ptr<IngestWriter> StartWriter(IngestOptions options = {}) {
    options.url = db_->url();
    absl::StatusOr<std::unique_ptr<IngestWriter>> writer = IngestWriter::Start(options);
    EXPECT_OK(writer);
    return writer.ok() ? *std::move(writer) : nullptr;
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> value = pool_->Run([&](pqxx::connection& conn) {
      pqxx::nontransaction txn(conn);
      return txn.exec1(sql)[0].as<int64_t>();
    });
    EXPECT_OK(value);
    return value.ok() ? *value : -1;
  }

  int64_t MessagesWithId(const std::string& id) {
    return Count("SELECT count(*) FROM messages WHERE id = '" + id + "'");
  }

  std::unique_ptr<testing::ScratchDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST(IngestWriterStartTest, RejectsBadOptions) {
  EXPECT_EQ(IngestWriter::Start({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IngestWriter::Start({.url = "postgresql://h/db", .writers = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      IngestWriter::Start({.url = "postgresql://h/db", .connect_timeout = absl::Milliseconds(100)})
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(IngestWriter::Start({.url = "postgresql://h/db", .session_linger = absl::Seconds(-1)})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(IngestWriterTest, StoresEveryColumnRecipientsLinksAndRawBytes) {
  const std::string second_mailbox = NewId();
  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec_params("INSERT INTO mailboxes (id, name) VALUES ($1, 'qa')", second_mailbox);
    txn.commit();
  }));
  // 1 MB with every byte value, NUL and 0xFF included, and a NUL right at the start.
  std::string raw = "\0\xFF"s + RandomBytes(1 << 20, 7);
  for (int b = 0; b < 256; ++b) raw.push_back(static_cast<char>(b));
  NewMessage message = MakeMessage(raw);
  const std::string session_id = NewId();
  message.received_at = absl::FromUnixMicros(1760000000123456);
  message.session_id = session_id;
  message.client_address = "2001:db8::7";
  message.ehlo_name = "client.example";
  message.tls =
      TlsFacts{.protocol = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384", .implicit = true};
  message.auth_user = "alice";
  message.auth_mechanism = "PLAIN";
  message.envelope_from = "";  // the null reverse-path
  message.mail_parameters = {{"SIZE", "1049000"}, {"SMTPUTF8", ""}, {"RET", "HDRS"}};
  message.dsn_ret = "HDRS";
  message.dsn_envid = "env+2Bid";
  message.recipients = {
      {.address = "bob@example.com",
       .dsn_notify = "SUCCESS,FAILURE",
       .dsn_orcpt = "rfc822;bob@example.com",
       .parameters = {{"NOTIFY", "SUCCESS,FAILURE"}, {"ORCPT", "rfc822;bob@example.com"}}},
      {.address = "carol@example.com"},
  };
  message.from_header = "Alice <alice@example.com>";
  message.to_header = "bob@example.com";
  message.cc_header = std::nullopt;
  message.subject = "Caf\xC3\xA9 \"quoted\" \\ and a bad byte \xFF";
  message.date_header = absl::FromUnixSeconds(1759999999);
  message.message_id_header = "abc@example.com";
  message.has_attachments = true;
  message.mailbox_ids = {second_mailbox, std::string(kDefaultMailboxId)};
  const std::string id = message.id;

  std::unique_ptr<IngestWriter> writer = StartWriter();
  ASSERT_NE(writer, nullptr);
  Outcomes outcomes(1);
  writer->Submit(std::move(message), outcomes.For(0));
  outcomes.WaitAll();
  ASSERT_OK(outcomes.status(0));

  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    const pqxx::row row = txn.exec_params1(
        R"sql(SELECT (extract(epoch FROM received_at) * 1000000)::bigint, session_id::text,
                     host(client_address), ehlo_name, tls_protocol, tls_cipher, tls_implicit,
                     auth_user, auth_mechanism, envelope_from, mail_parameters::text, dsn_ret,
                     dsn_envid, from_header, to_header, cc_header IS NULL, subject,
                     extract(epoch FROM date_header)::bigint, message_id_header,
                     has_attachments, is_read, size_bytes, raw
              FROM messages WHERE id = $1)sql",
        id);
    EXPECT_EQ(row[0].as<int64_t>(), 1760000000123456);
    EXPECT_EQ(row[1].as<std::string>(), session_id);
    EXPECT_EQ(row[2].as<std::string>(), "2001:db8::7");
    EXPECT_EQ(row[3].as<std::string>(), "client.example");
    EXPECT_EQ(row[4].as<std::string>(), "TLSv1.3");
    EXPECT_EQ(row[5].as<std::string>(), "TLS_AES_256_GCM_SHA384");
    EXPECT_TRUE(row[6].as<bool>());
    EXPECT_EQ(row[7].as<std::string>(), "alice");
    EXPECT_EQ(row[8].as<std::string>(), "PLAIN");
    EXPECT_EQ(row[9].as<std::string>(), "");
    EXPECT_EQ(row[10].as<std::string>(),
              R"([["SIZE", "1049000"], ["SMTPUTF8", ""], ["RET", "HDRS"]])");
    EXPECT_EQ(row[11].as<std::string>(), "HDRS");
    EXPECT_EQ(row[12].as<std::string>(), "env+2Bid");
    EXPECT_EQ(row[13].as<std::string>(), "Alice <alice@example.com>");
    EXPECT_EQ(row[14].as<std::string>(), "bob@example.com");
    EXPECT_TRUE(row[15].as<bool>());
    EXPECT_EQ(row[16].as<std::string>(), "Caf\xC3\xA9 \"quoted\" \\ and a bad byte \xEF\xBF\xBD");
    EXPECT_EQ(row[17].as<int64_t>(), 1759999999);
    EXPECT_EQ(row[18].as<std::string>(), "abc@example.com");
    EXPECT_TRUE(row[19].as<bool>());
    EXPECT_FALSE(row[20].as<bool>());
    EXPECT_EQ(row[21].as<int64_t>(), static_cast<int64_t>(raw.size()));
    const pqxx::binarystring stored(row[22]);
    EXPECT_EQ(stored.size(), raw.size());
    EXPECT_TRUE(stored.str() == raw) << "raw bytes differ";

    const pqxx::result recipients = txn.exec_params(
        "SELECT position, address, dsn_notify, dsn_orcpt, parameters::text "
        "FROM message_recipients WHERE message_id = $1 ORDER BY position",
        id);
    EXPECT_EQ(recipients.size(), 2u);
    if (recipients.size() == 2) {
      EXPECT_EQ(recipients[0][0].as<int>(), 0);
      EXPECT_EQ(recipients[0][1].as<std::string>(), "bob@example.com");
      EXPECT_EQ(recipients[0][2].as<std::string>(), "SUCCESS,FAILURE");
      EXPECT_EQ(recipients[0][3].as<std::string>(), "rfc822;bob@example.com");
      EXPECT_EQ(recipients[0][4].as<std::string>(),
                R"([["NOTIFY", "SUCCESS,FAILURE"], ["ORCPT", "rfc822;bob@example.com"]])");
      EXPECT_EQ(recipients[1][0].as<int>(), 1);
      EXPECT_EQ(recipients[1][1].as<std::string>(), "carol@example.com");
      EXPECT_TRUE(recipients[1][2].is_null());
      EXPECT_TRUE(recipients[1][3].is_null());
      EXPECT_EQ(recipients[1][4].as<std::string>(), "[]");
    }
    const pqxx::result links = txn.exec_params(
        "SELECT mailbox_id::text, received_at = (SELECT received_at FROM messages WHERE id = $1) "
        "FROM message_mailboxes WHERE message_id = $1 ORDER BY mailbox_id",
        id);
    EXPECT_EQ(links.size(), 2u);
    for (const pqxx::row& link : links) EXPECT_TRUE(link[1].as<bool>());
  }));
  const IngestStats stats = writer->Stats();
  EXPECT_EQ(stats.messages_committed, 1);
  EXPECT_EQ(stats.batches_committed, 1);
  EXPECT_EQ(stats.last_batch_messages, 1);
  EXPECT_EQ(stats.batch_size_buckets[0], 1);
}

TEST_F(IngestWriterTest, ManyConcurrentSubmittersEachDoneOnceEveryRowPresent) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::unique_ptr<IngestWriter> writer = StartWriter({.writers = 3, .max_batch_messages = 32});
  ASSERT_NE(writer, nullptr);
  Outcomes outcomes(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        NewMessage message = MakeMessage(RandomBytes(512 + i, t * 1000 + i));
        message.recipients.push_back({.address = "second@example.com"});
        writer->Submit(std::move(message), outcomes.For(t * kPerThread + i));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  outcomes.WaitAll();
  writer->Stop();
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    EXPECT_EQ(outcomes.calls(i), 1) << i;
    EXPECT_OK(outcomes.status(i));
  }
  EXPECT_EQ(Count("SELECT count(*) FROM messages"), kThreads * kPerThread);
  EXPECT_EQ(Count("SELECT count(*) FROM message_recipients"), 2 * kThreads * kPerThread);
  EXPECT_EQ(Count("SELECT count(*) FROM message_mailboxes"), kThreads * kPerThread);
  const IngestStats stats = writer->Stats();
  EXPECT_EQ(stats.messages_committed, kThreads * kPerThread);
  EXPECT_EQ(stats.messages_failed, 0);
  int64_t bucketed = 0;
  for (int64_t count : stats.batch_size_buckets) bucketed += count;
  EXPECT_EQ(bucketed, stats.batches_committed);
  EXPECT_LE(stats.batches_committed, kThreads * kPerThread);
}

// Queues `good_before`, a message filed into a mailbox that does not exist, and `good_after`
// behind a first message that holds the (single) writer, so that the three form one batch.
TEST_F(IngestWriterTest, FailingRowFailsAloneAndItsBatchNeighboursAreStored) {
  std::unique_ptr<IngestWriter> writer = StartWriter({.writers = 1});
  ASSERT_NE(writer, nullptr);
  Outcomes outcomes(4);
  std::vector<std::string> ids;
  {
    TableLock lock(db_->url(), "messages");
    NewMessage first = MakeMessage("first");
    ids.push_back(first.id);
    SubmitAndWaitUntilTaken(*writer, std::move(first), outcomes.For(0));
    NewMessage good_before = MakeMessage("good before");
    NewMessage bad = MakeMessage("bad");
    bad.mailbox_ids.push_back(NewId());  // no such mailbox
    NewMessage good_after = MakeMessage("good after");
    for (NewMessage* m : {&good_before, &bad, &good_after}) ids.push_back(m->id);
    writer->Submit(std::move(good_before), outcomes.For(1));
    writer->Submit(std::move(bad), outcomes.For(2));
    writer->Submit(std::move(good_after), outcomes.For(3));
  }
  outcomes.WaitAll();
  EXPECT_OK(outcomes.status(0));
  EXPECT_OK(outcomes.status(1));
  EXPECT_EQ(outcomes.status(2).code(), StatusCode::kFailedPrecondition) << outcomes.status(2);
  EXPECT_OK(outcomes.status(3));
  EXPECT_EQ(MessagesWithId(ids[0]), 1);
  EXPECT_EQ(MessagesWithId(ids[1]), 1);
  EXPECT_EQ(MessagesWithId(ids[2]), 0);  // nothing half-stored of the bad one
  EXPECT_EQ(MessagesWithId(ids[3]), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM message_recipients"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM message_mailboxes"), 3);
  const IngestStats stats = writer->Stats();
  // The batch of three failed as a whole, then each row was written alone.
  EXPECT_EQ(stats.batches_failed, 1);
  EXPECT_EQ(stats.messages_failed, 1);
  EXPECT_EQ(stats.messages_committed, 3);

  // The writer goes on: a duplicate id fails with AlreadyExists, then all is well.
  Outcomes duplicate_outcome(1);
  NewMessage duplicate = MakeMessage("dup");
  duplicate.id = ids[0];
  writer->Submit(std::move(duplicate), duplicate_outcome.For(0));
  duplicate_outcome.WaitAll();
  EXPECT_EQ(duplicate_outcome.status(0).code(), StatusCode::kAlreadyExists);
  Outcomes fine(1);
  writer->Submit(MakeMessage("fine"), fine.For(0));
  fine.WaitAll();
  EXPECT_OK(fine.status(0));
}

TEST_F(IngestWriterTest, FullQueueAnswersResourceExhaustedAtOnce) {
  std::unique_ptr<IngestWriter> writer =
      StartWriter({.writers = 1, .max_batch_messages = 1, .max_queued_messages = 3});
  ASSERT_NE(writer, nullptr);
  Outcomes outcomes(5);
  {
    TableLock lock(db_->url(), "messages");
    SubmitAndWaitUntilTaken(*writer, MakeMessage("held by the writer"), outcomes.For(0));
    for (int i = 1; i <= 3; ++i) writer->Submit(MakeMessage("queued"), outcomes.For(i));
    writer->Submit(MakeMessage("one too many"), outcomes.For(4));
    // Done ran inside Submit, with the database still locked.
    ASSERT_TRUE(outcomes.called(4));
    EXPECT_EQ(outcomes.status(4).code(), StatusCode::kResourceExhausted);
    for (int i = 0; i <= 3; ++i) EXPECT_FALSE(outcomes.called(i)) << i;
    EXPECT_EQ(writer->Stats().queued_messages, 3);
  }
  outcomes.WaitAll();
  for (int i = 0; i <= 3; ++i) EXPECT_OK(outcomes.status(i));
  EXPECT_EQ(writer->Stats().messages_rejected, 1);
}

TEST_F(IngestWriterTest, QueueIsBoundedInBytesToo) {
  std::unique_ptr<IngestWriter> writer =
      StartWriter({.writers = 1, .max_batch_messages = 1, .max_queued_bytes = 100});
  ASSERT_NE(writer, nullptr);
  Outcomes outcomes(3);
  {
    TableLock lock(db_->url(), "messages");
    // Alone: accepted.
    SubmitAndWaitUntilTaken(*writer, MakeMessage(std::string(500, 'a')), outcomes.For(0));
    writer->Submit(MakeMessage(std::string(200, 'b')), outcomes.For(1));  // empty queue: ok
    writer->Submit(MakeMessage(std::string(1, 'c')), outcomes.For(2));    // 201 > 100
    ASSERT_TRUE(outcomes.called(2));
    EXPECT_EQ(outcomes.status(2).code(), StatusCode::kResourceExhausted);
    EXPECT_FALSE(outcomes.called(1));
  }
  outcomes.WaitAll();
  EXPECT_OK(outcomes.status(0));
  EXPECT_OK(outcomes.status(1));
  // The queue is empty again: a small message goes through.
  Outcomes after(1);
  writer->Submit(MakeMessage("after"), after.For(0));
  after.WaitAll();
  EXPECT_OK(after.status(0));
}

TEST_F(IngestWriterTest, StopDrainsTheQueueThenRefuses) {
  constexpr int kMessages = 20;
  std::unique_ptr<IngestWriter> writer = StartWriter({.writers = 2, .max_batch_messages = 4});
  ASSERT_NE(writer, nullptr);
  Outcomes outcomes(kMessages);
  std::thread stopper;
  {
    TableLock lock(db_->url(), "messages");
    for (int i = 0; i < kMessages; ++i) writer->Submit(MakeMessage("m"), outcomes.For(i));
    stopper = std::thread([&] { writer->Stop(); });
  }
  stopper.join();
  // Stop returned only after every queued message was committed and its Done ran.
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(outcomes.calls(i), 1) << i;
    EXPECT_OK(outcomes.status(i));
  }
  EXPECT_EQ(Count("SELECT count(*) FROM messages"), kMessages);
  EXPECT_EQ(writer->Stats().queued_messages, 0);

  Outcomes late(1);
  writer->Submit(MakeMessage("late"), late.For(0));
  ASSERT_TRUE(late.called(0));
  EXPECT_EQ(late.status(0).code(), StatusCode::kUnavailable);
  EXPECT_EQ(writer->Submit(MakeSession()).code(), StatusCode::kUnavailable);
  writer->Stop();  // again: a no-op
}

TEST_F(IngestWriterTest, ASecondWriterStartsOnlyForABacklogWorthATransaction) {
  std::unique_ptr<IngestWriter> writer =
      StartWriter({.writers = 2, .parallel_backlog_messages = 3, .parallel_backlog_bytes = 1000});
  ASSERT_NE(writer, nullptr);
  Outcomes small(4);
  {
    TableLock lock(db_->url(), "messages");
    SubmitAndWaitUntilTaken(*writer, MakeMessage("held by the first writer"), small.For(0));
    // Two small messages are less than a transaction's worth: they wait for the first
    // writer's batch to end instead of starting a second transaction beside it.
    writer->Submit(MakeMessage("small 1"), small.For(1));
    writer->Submit(MakeMessage("small 2"), small.For(2));
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_EQ(writer->Stats().queued_messages, 2);
    // A third makes the backlog worth it: the second writer takes all three.
    SubmitAndWaitUntilTaken(*writer, MakeMessage("small 3"), small.For(3));
    EXPECT_EQ(writer->Stats().batches_committed, 0);  // both still wait for the lock
  }
  small.WaitAll();
  for (int i = 0; i <= 3; ++i) EXPECT_OK(small.status(i)) << i;
  EXPECT_EQ(writer->Stats().batches_committed, 2);
  Outcomes large(2);
  {
    // The backlog counts bytes too: one large message is enough.
    TableLock lock(db_->url(), "messages");
    SubmitAndWaitUntilTaken(*writer, MakeMessage("held by the first writer"), large.For(0));
    SubmitAndWaitUntilTaken(*writer, MakeMessage(std::string(1000, 'x')), large.For(1));
  }
  large.WaitAll();
  EXPECT_OK(large.status(0));
  EXPECT_OK(large.status(1));
  EXPECT_EQ(writer->Stats().batches_committed, 4);
}

TEST_F(IngestWriterTest, ASessionAloneWaitsToRideWithTheNextMessages) {
  std::unique_ptr<IngestWriter> writer = StartWriter({.session_linger = absl::Hours(1)});
  ASSERT_NE(writer, nullptr);
  const NewSession session = MakeSession();
  ASSERT_OK(writer->Submit(session));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(writer->Stats().queued_sessions, 1);  // no transaction for it alone
  EXPECT_EQ(writer->Stats().batches_committed, 0);

  Outcomes outcomes(1);
  writer->Submit(MakeMessage("carries the session"), outcomes.For(0));
  outcomes.WaitAll();
  EXPECT_OK(outcomes.status(0));
  const IngestStats stats = writer->Stats();
  EXPECT_EQ(stats.batches_committed, 1);
  EXPECT_EQ(stats.sessions_committed, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM smtp_sessions WHERE id = '" + session.id + "'"), 1);
}

TEST_F(IngestWriterTest, SessionsAloneAreWrittenAfterTheLingerOrForABatchsWorth) {
  std::unique_ptr<IngestWriter> lingering = StartWriter({.session_linger = absl::Milliseconds(50)});
  ASSERT_NE(lingering, nullptr);
  ASSERT_OK(lingering->Submit(MakeSession()));
  WaitUntil(
      *lingering, [](const IngestStats& stats) { return stats.sessions_committed == 1; },
      "write a session alone after its linger");
  EXPECT_EQ(lingering->Stats().batches_committed, 1);

  // A batch's worth does not wait for the (hour-long) linger.
  std::unique_ptr<IngestWriter> full =
      StartWriter({.max_batch_sessions = 3, .session_linger = absl::Hours(1)});
  ASSERT_NE(full, nullptr);
  ASSERT_OK(full->Submit(MakeSession()));
  ASSERT_OK(full->Submit(MakeSession()));
  ASSERT_OK(full->Submit(MakeSession()));
  WaitUntil(
      *full, [](const IngestStats& stats) { return stats.sessions_committed == 3; },
      "write a batch's worth of sessions at once");
  EXPECT_EQ(full->Stats().batches_committed, 1);

  // Stop writes what lingers.
  ASSERT_OK(full->Submit(MakeSession()));
  full->Stop();
  EXPECT_EQ(full->Stats().sessions_committed, 4);
  EXPECT_EQ(Count("SELECT count(*) FROM smtp_sessions"), 5);
}

TEST_F(IngestWriterTest, InvalidMessageIsRefusedAtOnce) {
  std::unique_ptr<IngestWriter> writer = StartWriter();
  ASSERT_NE(writer, nullptr);
  NewMessage message = MakeMessage("x");
  message.client_address = "not an address";
  Outcomes outcomes(1);
  writer->Submit(std::move(message), outcomes.For(0));
  ASSERT_TRUE(outcomes.called(0));
  EXPECT_EQ(outcomes.status(0).code(), StatusCode::kInvalidArgument);
}

TEST_F(IngestWriterTest, SessionsWithHostileTranscriptsAreStored) {
  const std::vector<std::string> lines = {
      "EHLO \"quoted\" and \\backslash\\",
      "control \x01\x1B[31m\t tab\r\n",
      "nul a\0b"s,
      "invalid \xFF\xFE utf8 \xE2\x82 and \xC0\xAF",
      "caf\xC3\xA9 \xF0\x9F\x93\xA7 \\u0000 literal",
      "{\"json\": [1, 2]}",
  };
  NewSession session;
  session.id = NewId();
  session.listener = "smtp";
  session.client_address = "192.0.2.10";
  session.client_port = 40000;
  session.server_address = "127.0.0.1:2525";
  session.ehlo_name = "client \xFF";
  session.tls = TlsFacts{.protocol = "TLSv1.2", .cipher = "ECDHE-RSA-AES128-GCM-SHA256"};
  session.auth_user = "bob";
  session.auth_mechanism = "CRAM-MD5";
  session.started_at = absl::FromUnixMicros(1760000000000000);
  session.ended_at = session.started_at + absl::Seconds(3);
  session.message_count = 2;
  session.outcome = std::string(kOutcomeError);
  session.error = "too many errors (10)";
  session.error_reply_count = 10;
  for (size_t i = 0; i < lines.size(); ++i) {
    session.transcript.push_back({.offset = absl::Microseconds(1000 * i + 7),
                                  .direction = i % 2 == 0 ? TranscriptRow::Direction::kClient
                                                          : TranscriptRow::Direction::kServer,
                                  .text = lines[i]});
  }
  NewSession plain = session;
  plain.id = NewId();
  plain.tls.reset();
  plain.ehlo_name.clear();
  plain.auth_user.clear();
  plain.auth_mechanism.clear();
  plain.error.clear();
  plain.outcome = std::string(kOutcomeQuit);
  plain.transcript.clear();

  std::unique_ptr<IngestWriter> writer = StartWriter();
  ASSERT_NE(writer, nullptr);
  ASSERT_OK(writer->Submit(session));
  ASSERT_OK(writer->Submit(plain));
  writer->Stop();  // drains: both are written
  EXPECT_EQ(writer->Stats().sessions_committed, 2);

  ASSERT_OK(pool_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    const pqxx::row row = txn.exec_params1(
        R"sql(SELECT listener, host(client_address), client_port, server_address, ehlo_name,
                     tls_protocol, tls_cipher, tls_implicit, auth_user, auth_mechanism,
                     (extract(epoch FROM started_at) * 1000000)::bigint,
                     (extract(epoch FROM ended_at) * 1000000)::bigint, message_count, outcome,
                     error, error_reply_count, jsonb_array_length(transcript)
              FROM smtp_sessions WHERE id = $1)sql",
        session.id);
    EXPECT_EQ(row[0].as<std::string>(), "smtp");
    EXPECT_EQ(row[1].as<std::string>(), "192.0.2.10");
    EXPECT_EQ(row[2].as<int>(), 40000);
    EXPECT_EQ(row[3].as<std::string>(), "127.0.0.1:2525");
    EXPECT_EQ(row[4].as<std::string>(), "client \xEF\xBF\xBD");
    EXPECT_EQ(row[5].as<std::string>(), "TLSv1.2");
    EXPECT_EQ(row[6].as<std::string>(), "ECDHE-RSA-AES128-GCM-SHA256");
    EXPECT_FALSE(row[7].as<bool>());
    EXPECT_EQ(row[8].as<std::string>(), "bob");
    EXPECT_EQ(row[9].as<std::string>(), "CRAM-MD5");
    EXPECT_EQ(row[10].as<int64_t>(), 1760000000000000);
    EXPECT_EQ(row[11].as<int64_t>(), 1760000003000000);
    EXPECT_EQ(row[12].as<int>(), 2);
    EXPECT_EQ(row[13].as<std::string>(), "error");
    EXPECT_EQ(row[14].as<std::string>(), "too many errors (10)");
    EXPECT_EQ(row[15].as<int>(), 10);
    EXPECT_EQ(row[16].as<int>(), static_cast<int>(lines.size()));
    const pqxx::result transcript = txn.exec_params(
        "SELECT e->>'t', e->>'d', e->>'l' FROM smtp_sessions, "
        "jsonb_array_elements(transcript) WITH ORDINALITY AS x(e, n) WHERE id = $1 ORDER BY n",
        session.id);
    EXPECT_EQ(transcript.size(), lines.size());
    for (size_t i = 0; i < transcript.size() && i < lines.size(); ++i) {
      EXPECT_EQ(transcript[i][0].as<std::string>(), std::to_string(1000 * i + 7));
      EXPECT_EQ(transcript[i][1].as<std::string>(), i % 2 == 0 ? "C" : "S");
      EXPECT_EQ(transcript[i][2].as<std::string>(), SanitizeUtf8(lines[i])) << i;
    }
    const pqxx::row bare = txn.exec_params1(
        "SELECT ehlo_name IS NULL AND tls_protocol IS NULL AND tls_implicit IS NULL AND "
        "auth_user IS NULL AND auth_mechanism IS NULL AND error IS NULL, transcript::text "
        "FROM smtp_sessions WHERE id = $1",
        plain.id);
    EXPECT_TRUE(bare[0].as<bool>());
    EXPECT_EQ(bare[1].as<std::string>(), "[]");
  }));
}

TEST(IngestWriterClusterTest, DatabaseDownGivesUnavailableThenRecovers) {
  absl::StatusOr<std::unique_ptr<testing::PrivateCluster>> cluster =
      testing::PrivateCluster::Start();
  ASSERT_OK(cluster);
  const std::string url = (*cluster)->url();
  {
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create({.url = url});
    ASSERT_OK(pool);
    ASSERT_OK(Migrate(**pool));
  }
  absl::StatusOr<std::unique_ptr<IngestWriter>> writer =
      IngestWriter::Start({.url = url, .connect_timeout = absl::Seconds(2), .writers = 2});
  ASSERT_OK(writer);

  Outcomes before(1);
  (*writer)->Submit(MakeMessage("before"), before.For(0));
  before.WaitAll();
  ASSERT_OK(before.status(0));

  ASSERT_OK((*cluster)->Stop());
  Outcomes down(3);
  for (int i = 0; i < 3; ++i) (*writer)->Submit(MakeMessage("down"), down.For(i));
  // The session of an outage (its client got 451) is kept until the database is back.
  const NewSession session = MakeSession();
  ASSERT_OK((*writer)->Submit(session));
  down.WaitAll();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(down.status(i).code(), StatusCode::kUnavailable) << down.status(i);
  }

  ASSERT_OK((*cluster)->Restart());
  Outcomes after(3);
  for (int i = 0; i < 3; ++i) (*writer)->Submit(MakeMessage("after"), after.For(i));
  after.WaitAll();
  for (int i = 0; i < 3; ++i) EXPECT_OK(after.status(i));
  (*writer)->Stop();

  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create({.url = url});
  ASSERT_OK(pool);
  absl::StatusOr<int64_t> count = (*pool)->Run([](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return txn.exec1("SELECT count(*) FROM messages")[0].as<int64_t>();
  });
  ASSERT_OK(count);
  EXPECT_EQ(*count, 4);
  absl::StatusOr<int64_t> sessions = (*pool)->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return txn.exec1("SELECT count(*) FROM smtp_sessions WHERE id = " + txn.quote(session.id))[0]
        .as<int64_t>();
  });
  ASSERT_OK(sessions);
  EXPECT_EQ(*sessions, 1);
}

}  // namespace
}  // namespace mailroom::storage
