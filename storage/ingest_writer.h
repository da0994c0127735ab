// IngestWriter: the group-commit writer on the capture path. The SMTP side answers `250`
// only when a message's Done runs with OK, i.e. after its transaction COMMITted; any other
// status means nothing of the message is stored (`451 4.3.0`, or `452 4.3.1` for
// ResourceExhausted).
//
//   Submit(message, done) ─► bounded queue ─► writer threads (options.writers, default 1)
//                                              each: take everything queued (up to a batch
//                                              limit) ─► BEGIN; inserts; COMMIT ─► every Done
//
// While one writer waits for its COMMIT to be flushed, the messages arriving meanwhile pile
// up in the queue and the writer takes them all as its next batch, so the number of WAL
// flushes follows the disk, not the message rate (storage/ingest_batch.h has the
// statements). A second writer starts a batch while another is writing only when the
// backlog is worth a transaction of its own (options.parallel_backlog_*): a transaction of
// one or two messages beside one in flight costs a statement and a commit for little, and
// makes the next batch smaller still; a few messages waiting, or large bodies, gain from
// a second commit in flight. Finished sessions ride in the same transactions: they have no
// Done, so they wait for the next batch of messages, and start a transaction of their own
// only when a batch's worth of them waits or the oldest has waited options.session_linger
// (a transaction for a session row alone would hold up the messages arriving behind it).
//
// Failure rules:
//  - A batch is one transaction: if anything in it fails, none of its rows remain. When the
//    failure is one a single row can cause (a message filed into a mailbox that no longer
//    exists: FailedPrecondition; an id already stored: AlreadyExists; a value refused:
//    InvalidArgument), every message and session of the batch is written again in a
//    transaction of its own, so only the bad row fails and its neighbours still get OK.
//    Otherwise (the database or connection failed) every Done gets the mapped status
//    (storage/errors.h) and the senders retry (4xx).
//  - Sessions of a batch that failed for any other reason are queued again, at the front,
//    and written when the database is back; the writer pauses briefly after each failure.
//  - A commit whose outcome is unknown (connection lost during COMMIT) gives Unknown: the
//    SMTP side must answer 451, never 250. It is not retried (it may have committed).
//  - A connection that broke before COMMIT was sent committed nothing: the batch is tried
//    once more on a new connection when the broken one had been reused (it may have died
//    while idle, e.g. during a PostgreSQL restart); otherwise the Dones get Unavailable.
//    Each writer owns one connection, opened lazily and reopened on the next batch after a
//    failure; opening is bounded by options.connect_timeout.
//  - Submit never blocks: when the queue is full (messages or bytes) Done runs at once, on
//    the caller's thread, with ResourceExhausted; after Stop() with Unavailable; for a
//    message that fails ValidateMessage with InvalidArgument.
//
// Done callbacks run on a writer thread (or inside Submit, as above), after the stats are
// updated and never under a lock. They must be cheap and must not block: post the result to
// the session's executor and return, since every message of the next batch waits for them.
// A message's raw bytes (raw_owner) are released after its Done has run.
//
// Why each writer owns a connection instead of leasing from ConnectionPool per batch: a
// writer needs one for every batch, for its whole life, so leasing would only add a mutex
// round and let API queries starve ingest (or the reverse) at pool size.
//
// Thread-safety: Submit, Stats and Stop are thread-safe and may be called from any thread.

#ifndef MAILROOM_STORAGE_INGEST_WRITER_H_
#define MAILROOM_STORAGE_INGEST_WRITER_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "storage/ingest_rows.h"

namespace mailroom::storage {

class BatchInserter;

struct IngestOptions {
  // libpq connection string (URL or keyword form); may hold a password, never printed.
  std::string url{};
  // libpq connect_timeout for each (re)connection; at least 1 s.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Writer threads, each with its own connection. A writer starts a batch when no other is
  // writing, or when at least this much waits (the first limit reached; see above). One
  // writer makes the largest batches, the least work per message for PostgreSQL; more pay
  // off when PostgreSQL has cores to spare for commits in parallel.
  int writers = 1;
  int parallel_backlog_messages = 4;
  int64_t parallel_backlog_bytes = 1 << 20;
  // Most messages / raw bytes per transaction. A single larger message goes alone.
  int max_batch_messages = 64;
  int64_t max_batch_bytes = 16 << 20;
  // Most sessions per transaction.
  int max_batch_sessions = 256;
  // How long finished sessions wait for a batch of messages to ride in before a writer
  // starts a transaction for them alone (sooner when max_batch_sessions wait).
  absl::Duration session_linger = absl::Milliseconds(100);
  // Queue bounds; beyond them Submit fails at once with ResourceExhausted. A single message
  // larger than max_queued_bytes is accepted when the queue is empty.
  int max_queued_messages = 4096;
  int64_t max_queued_bytes = int64_t{256} << 20;
  int max_queued_sessions = 8192;
};

// Batch sizes (messages per committed transaction) are counted in buckets with these upper
// bounds; the last bucket counts larger batches.
inline constexpr std::array<int, 9> kBatchSizeBucketBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};

// A snapshot for metrics. Counters only grow.
struct IngestStats {
  int64_t batches_committed = 0;   // transactions committed (with messages or sessions)
  int64_t messages_committed = 0;  // Dones run with OK
  int64_t sessions_committed = 0;
  int64_t batches_failed = 0;
  int64_t messages_failed = 0;    // Dones run with a database error
  int64_t sessions_failed = 0;    // session rows lost with a failed batch
  int64_t messages_rejected = 0;  // refused by Submit: queue full, stopped or invalid
  int64_t sessions_rejected = 0;
  int last_batch_messages = 0;  // messages in the last committed batch
  // Committed batches with messages, by size: [i] counts sizes in
  // (kBatchSizeBucketBounds[i-1], kBatchSizeBucketBounds[i]]; the last entry, larger ones.
  std::array<int64_t, kBatchSizeBucketBounds.size() + 1> batch_size_buckets = {};
  int queued_messages = 0;  // waiting for a writer (not counting batches being written)
  int64_t queued_bytes = 0;
  int queued_sessions = 0;
};

class IngestWriter {
 public:
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  // Validates `options` and starts the writer threads; does not connect (the first batch
  // does), so it succeeds while PostgreSQL is down. Returns InvalidArgument for an empty url,
  // a connect_timeout under 1 s or a limit below 1.
  static absl::StatusOr<std::unique_ptr<IngestWriter>> Start(IngestOptions options);

  // Stops (see Stop) if not yet stopped.
  ~IngestWriter();

  IngestWriter(const IngestWriter&) = delete;
  IngestWriter& operator=(const IngestWriter&) = delete;

  // Queues `message` and calls `done` exactly once: OK after its transaction committed, the
  // batch's status if the transaction failed, or at once (inside this call) with
  // InvalidArgument, ResourceExhausted or Unavailable as the header says. Never blocks.
  void Submit(NewMessage message, Done done);

  // Queues `session` for the next transaction. Returns InvalidArgument when it fails
  // ValidateSession, ResourceExhausted when the session queue is full, Unavailable after
  // Stop(); OK means queued (a failure at commit time only shows in Stats()).
  absl::Status Submit(NewSession session);

  // Refuses new submissions, writes everything already queued (every Done runs), and joins
  // the writer threads. Blocks; safe to call more than once and from several threads.
  void Stop();

  IngestStats Stats() const;

 private:
  struct QueuedMessage {
    NewMessage message;
    Done done;
  };
  struct Batch {
    std::vector<QueuedMessage> messages;
    std::vector<NewSession> sessions;
  };
  // A writer thread's connection and statement cache.
  struct WriterState;

  IngestWriter(IngestOptions options, std::string conninfo);

  // Records the outcome of `batch`, runs its Dones with `status` and, when it committed,
  // announces its messages.
  void Finish(WriterState& state, Batch& batch, const absl::Status& status);
  // Whether a failed batch may have failed for one row rather than for all.
  static bool IsRowError(const absl::Status& status);
  // After a row error: every message and session of `batch` in a transaction of its own.
  void WriteEachAlone(WriterState& state, Batch& batch);
  // After any other failure: the batch's sessions go back into the queue (if it has room
  // and the writer is not stopping), and the writer pauses before its next attempt.
  void KeepSessionsForLater(Batch& batch);
  // After a commit: tells listeners about the new messages (storage/ingest_batch.h).
  void Announce(WriterState& state, const Batch& batch);
  static std::vector<const NewMessage*> MessagesOf(const Batch& batch);
  void PauseAfterFailure();

  void WriterLoop();
  // Waits until a free writer should start a batch (see the header comment), or return.
  void AwaitBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool MayStartBatch() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the queued sessions should be written even without messages.
  bool SessionsDue() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves up to a batch's worth from the queues into `batch`.
  void TakeBatch(Batch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `batch` in one transaction on the writer's connection; returns its status.
  absl::Status WriteBatch(WriterState& state, const Batch& batch);
  // Runs one transaction attempt (connecting first when needed). Sets `retry` when it failed
  // on a reused connection that broke before COMMIT. Throws nothing.
  absl::Status TryWrite(WriterState& state, const Batch& batch, bool& retry);
  void Record(const Batch& batch, const absl::Status& status);

  const IngestOptions options_;
  const std::string conninfo_;  // may hold a password
  const std::vector<std::string> secrets_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<QueuedMessage> messages_ ABSL_GUARDED_BY(mu_);
  std::deque<NewSession> sessions_ ABSL_GUARDED_BY(mu_);
  // When the queued sessions are due alone (session_linger after the oldest was queued);
  // InfiniteFuture while none is queued.
  absl::Time sessions_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int writing_ ABSL_GUARDED_BY(mu_) = 0;  // writers inside WriteBatch
  IngestStats stats_ ABSL_GUARDED_BY(mu_);

  std::vector<std::thread> threads_;
  std::once_flag join_once_;
};

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_INGEST_WRITER_H_
