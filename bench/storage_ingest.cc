// storage_ingest: how many messages per second storage::IngestWriter commits durably.
//
// N submitter threads behave like SMTP sessions: each submits one message, waits for its
// Done (the 250), and submits the next; with --sessions each message is followed by a
// session record with a 14-line transcript, as with a new connection per message. Bodies are
// random (incompressible, like the baseline in ../shared/bench/BASELINE.md) and shared, so
// the load generator allocates no body per message.
//
// The run happens in a new database created on the server named by the URL and dropped
// afterwards, so the URL needs CREATEDB (the superuser URL of a throwaway cluster):
//
//   d=$(mktemp -d /tmp/pgB.XXXX); chmod 755 $d; p=$(scripts/pg-cluster free-port)
//   scripts/pg-cluster init $d/pg $p && scripts/pg-cluster start $d/pg
//   storage_ingest --url "$(scripts/pg-cluster url $d/pg)" --size 1024 --threads 50
//   scripts/pg-cluster destroy $d/pg
//
// Flags: --url U (default $MAILROOM_BENCH_DATABASE_URL, then $MAILROOM_TEST_DATABASE_URL),
// --size BYTES (1024), --threads N (50), --messages M (20000), --writers W (2),
// --max-batch B (64), --sessions 0|1 (1).

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <pqxx/nontransaction>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "storage/ids.h"
#include "storage/ingest_writer.h"
#include "storage/migrations.h"
#include "storage/pool.h"
#include "storage/schema.h"

namespace {

using mailroom::storage::IngestWriter;
using mailroom::storage::NewMessage;
using mailroom::storage::NewSession;
using mailroom::storage::TranscriptRow;

struct Flags {
  std::string url;
  int64_t size = 1024;
  int threads = 50;
  int64_t messages = 20000;
  int writers = 2;
  int max_batch = 64;
  bool sessions = true;
};

bool ParseFlags(int argc, char** argv, Flags& flags) {
  if (const char* env = std::getenv("MAILROOM_BENCH_DATABASE_URL")) flags.url = env;
  if (flags.url.empty()) {
    if (const char* env = std::getenv("MAILROOM_TEST_DATABASE_URL")) flags.url = env;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    int64_t number = 0;
    const bool numeric = absl::SimpleAtoi(value, &number) && number >= 0;
    if (name == "--url") {
      flags.url = value;
    } else if (name == "--size" && numeric) {
      flags.size = number;
    } else if (name == "--threads" && numeric && number > 0) {
      flags.threads = static_cast<int>(number);
    } else if (name == "--messages" && numeric) {
      flags.messages = number;
    } else if (name == "--writers" && numeric && number > 0) {
      flags.writers = static_cast<int>(number);
    } else if (name == "--max-batch" && numeric && number > 0) {
      flags.max_batch = static_cast<int>(number);
    } else if (name == "--sessions" && numeric) {
      flags.sessions = number != 0;
    } else {
      std::fprintf(stderr, "storage_ingest: bad flag %s %s\n", name.c_str(), value);
      return false;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "storage_ingest: flag %s lacks a value\n", argv[argc - 1]);
    return false;
  }
  if (flags.url.empty()) {
    std::fprintf(stderr, "storage_ingest: no --url and no MAILROOM_BENCH_DATABASE_URL\n");
    return false;
  }
  return true;
}

// Returns `url` naming database `database` (URL form without a query, as pg-cluster prints).
std::string WithDatabase(const std::string& url, const std::string& database) {
  const size_t slash = url.rfind('/');
  return url.substr(0, slash + 1) + database;
}

bool Exec(const std::string& url, const std::string& sql) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction txn(conn);
    txn.exec(sql);
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage_ingest: %s: %s\n", sql.c_str(), e.what());
    return false;
  }
}

// One thread's submissions: submit, wait for Done, repeat (one message in flight, as an
// SMTP session has).
class Submitter {
 public:
  void Done(absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (!status.ok()) {
      ++failures_;
      if (first_error_.ok()) first_error_ = status;
    }
    done_ = true;
  }
  void Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    done_ = false;
  }
  int64_t failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  absl::Status first_error() {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

 private:
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

NewSession MakeSession(const std::string& message_id) {
  NewSession session;
  session.id = mailroom::storage::NewId();
  session.listener = "bench";
  session.client_address = "127.0.0.1";
  session.client_port = 40000;
  session.server_address = "127.0.0.1:2525";
  session.ehlo_name = "bench.local";
  session.started_at = absl::Now();
  session.ended_at = session.started_at + absl::Milliseconds(2);
  session.message_count = 1;
  session.outcome = "quit";
  const char* lines[] = {"220 mailroom ESMTP ready",
                         "EHLO bench.local",
                         "250-mailroom",
                         "250-PIPELINING",
                         "250-SIZE 33554432",
                         "250 ENHANCEDSTATUSCODES",
                         "MAIL FROM:<sender@bench.local>",
                         "250 2.1.0 OK",
                         "RCPT TO:<rcpt@bench.local>",
                         "250 2.1.5 OK",
                         "DATA",
                         "354 End data with <CR><LF>.<CR><LF>",
                         "QUIT",
                         "221 2.0.0 Bye"};
  int i = 0;
  for (const char* line : lines) {
    session.transcript.push_back({.offset = absl::Microseconds(100 * i),
                                  .direction = line[0] >= '0' && line[0] <= '9'
                                                   ? TranscriptRow::Direction::kServer
                                                   : TranscriptRow::Direction::kClient,
                                  .text = line});
    ++i;
  }
  session.transcript.push_back({.offset = absl::Microseconds(1500),
                                .direction = TranscriptRow::Direction::kInfo,
                                .text = absl::StrCat("message stored as ", message_id)});
  return session;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) return 2;

  std::mt19937_64 random(std::random_device{}());
  const std::string database = absl::StrFormat("mailroom_bench_%016x", random());
  if (!Exec(flags.url, "CREATE DATABASE " + database)) return 1;
  const std::string url = WithDatabase(flags.url, database);
  int exit_code = 0;
  {
    auto pool = mailroom::storage::ConnectionPool::Create({.url = url, .size = 1});
    if (!pool.ok() || !mailroom::storage::Migrate(**pool).ok()) {
      std::fprintf(stderr, "storage_ingest: migrating %s failed\n", database.c_str());
      Exec(flags.url, "DROP DATABASE " + database + " WITH (FORCE)");
      return 1;
    }
  }

  // 64 random bodies shared by all messages.
  std::vector<std::shared_ptr<const std::string>> bodies;
  for (int i = 0; i < 64; ++i) {
    std::string body(static_cast<size_t>(flags.size), '\0');
    for (char& c : body) c = static_cast<char>(random() & 0xFF);
    bodies.push_back(std::make_shared<const std::string>(std::move(body)));
  }

  auto writer = IngestWriter::Start({.url = url,
                                     .writers = flags.writers,
                                     .max_batch_messages = flags.max_batch,
                                     .max_queued_messages = 1 << 20,
                                     .max_queued_bytes = int64_t{1} << 40});
  if (!writer.ok()) {
    std::fprintf(stderr, "storage_ingest: %s\n", writer.status().ToString().c_str());
    return 1;
  }

  std::atomic<int64_t> next{0};
  std::vector<std::unique_ptr<Submitter>> submitters;
  for (int t = 0; t < flags.threads; ++t) submitters.push_back(std::make_unique<Submitter>());
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < flags.threads; ++t) {
    threads.emplace_back([&, t] {
      Submitter& submitter = *submitters[t];
      for (int64_t i = next++; i < flags.messages; i = next++) {
        const std::shared_ptr<const std::string>& body = bodies[i % bodies.size()];
        NewMessage message;
        message.id = mailroom::storage::NewId();
        message.received_at = absl::Now();
        message.session_id = mailroom::storage::NewId();
        message.client_address = "127.0.0.1";
        message.ehlo_name = "bench.local";
        message.envelope_from = "sender@bench.local";
        message.mail_parameters = {{"SIZE", absl::StrCat(body->size())}};
        message.recipients = {{.address = "rcpt@bench.local"}};
        message.subject = "bench";
        message.mailbox_ids = {std::string(mailroom::storage::kDefaultMailboxId)};
        message.raw = *body;
        message.raw_owner = body;
        const std::string id = message.id;
        (*writer)->Submit(std::move(message),
                          [&submitter](absl::Status status) { submitter.Done(std::move(status)); });
        submitter.Wait();
        if (flags.sessions) (void)(*writer)->Submit(MakeSession(id));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const absl::Duration elapsed = absl::Now() - start;
  (*writer)->Stop();

  const mailroom::storage::IngestStats stats = (*writer)->Stats();
  int64_t failures = 0;
  for (auto& submitter : submitters) {
    failures += submitter->failures();
    if (!submitter->first_error().ok() && exit_code == 0) {
      std::fprintf(stderr, "first error: %s\n", submitter->first_error().ToString().c_str());
      exit_code = 1;
    }
  }
  const double seconds = absl::ToDoubleSeconds(elapsed);
  int64_t message_batches = 0;
  for (int64_t count : stats.batch_size_buckets) message_batches += count;
  std::printf(
      "size=%lld threads=%d writers=%d max_batch=%d sessions=%d messages=%lld failures=%lld\n"
      "  %.2f s  %.0f msg/s  %.1f MiB/s  batches=%lld (with messages %lld)  mean batch=%.1f "
      "messages  sessions committed=%lld\n",
      static_cast<long long>(flags.size), flags.threads, flags.writers, flags.max_batch,
      flags.sessions ? 1 : 0, static_cast<long long>(flags.messages),
      static_cast<long long>(failures), seconds, stats.messages_committed / seconds,
      stats.messages_committed * static_cast<double>(flags.size) / seconds / (1 << 20),
      static_cast<long long>(stats.batches_committed), static_cast<long long>(message_batches),
      message_batches > 0 ? static_cast<double>(stats.messages_committed) / message_batches : 0.0,
      static_cast<long long>(stats.sessions_committed));
  writer->reset();
  Exec(flags.url, "DROP DATABASE " + database + " WITH (FORCE)");
  return exit_code;
}
