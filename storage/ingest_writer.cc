#include "storage/ingest_writer.h"

#include <algorithm>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "storage/connection_check.h"
#include "storage/errors.h"
#include "storage/ingest_batch.h"
#include "storage/pool.h"

namespace mailroom::storage {
namespace {

constexpr absl::Duration kPauseAfterFailure = absl::Milliseconds(250);

size_t BucketFor(int batch_size) {
  for (size_t i = 0; i < kBatchSizeBucketBounds.size(); ++i) {
    if (batch_size <= kBatchSizeBucketBounds[i]) return i;
  }
  return kBatchSizeBucketBounds.size();
}

}  // namespace

struct IngestWriter::WriterState {
  std::unique_ptr<pqxx::connection> conn;
  BatchInserter inserter;
};

absl::StatusOr<std::unique_ptr<IngestWriter>> IngestWriter::Start(IngestOptions options) {
  if (options.url.empty()) return absl::InvalidArgumentError("ingest database url is empty");
  if (options.connect_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ingest connect timeout must be at least 1s, got ",
                     absl::FormatDuration(options.connect_timeout)));
  }
  if (options.writers < 1 || options.max_batch_messages < 1 || options.max_batch_bytes < 1 ||
      options.max_batch_sessions < 1 || options.max_queued_messages < 1 ||
      options.max_queued_bytes < 1 || options.max_queued_sessions < 1 ||
      options.parallel_backlog_messages < 1 || options.parallel_backlog_bytes < 1) {
    return absl::InvalidArgumentError("ingest writers and limits must be at least 1");
  }
  if (options.session_linger < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ingest session linger must not be negative, got ",
                     absl::FormatDuration(options.session_linger)));
  }
  std::string conninfo =
      ConnectionString({.url = options.url, .connect_timeout = options.connect_timeout});
  std::unique_ptr<IngestWriter> writer(new IngestWriter(std::move(options), std::move(conninfo)));
  for (int i = 0; i < writer->options_.writers; ++i) {
    writer->threads_.emplace_back([w = writer.get()] { w->WriterLoop(); });
  }
  return writer;
}

IngestWriter::IngestWriter(IngestOptions options, std::string conninfo)
    : options_(std::move(options)),
      conninfo_(std::move(conninfo)),
      secrets_(ConnectionSecrets(options_.url)) {}

IngestWriter::~IngestWriter() { Stop(); }

void IngestWriter::Submit(NewMessage message, Done done) {
  absl::Status status = ValidateMessage(message);
  if (status.ok()) {
    const int64_t size = static_cast<int64_t>(message.raw.size());
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      status = absl::UnavailableError("ingest writer is stopping");
    } else if (static_cast<int>(messages_.size()) >= options_.max_queued_messages ||
               (!messages_.empty() && queued_bytes_ + size > options_.max_queued_bytes)) {
      status = absl::ResourceExhaustedError(absl::StrFormat(
          "ingest queue full (%d messages, %d bytes waiting)", messages_.size(), queued_bytes_));
    } else {
      queued_bytes_ += size;
      messages_.push_back({std::move(message), std::move(done)});
      return;
    }
    ++stats_.messages_rejected;
  } else {
    absl::MutexLock lock(&mu_);
    ++stats_.messages_rejected;
  }
  std::move(done)(std::move(status));
}

absl::Status IngestWriter::Submit(NewSession session) {
  absl::Status status = ValidateSession(session);
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    if (stopping_) {
      status = absl::UnavailableError("ingest writer is stopping");
    } else if (static_cast<int>(sessions_.size()) >= options_.max_queued_sessions) {
      status = absl::ResourceExhaustedError(
          absl::StrFormat("ingest session queue full (%d sessions waiting)", sessions_.size()));
    } else {
      if (sessions_.empty()) sessions_due_ = absl::Now() + options_.session_linger;
      sessions_.push_back(std::move(session));
      return absl::OkStatus();
    }
  }
  ++stats_.sessions_rejected;
  return status;
}

void IngestWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  std::call_once(join_once_, [this] {
    for (std::thread& thread : threads_) thread.join();
  });
}

IngestStats IngestWriter::Stats() const {
  absl::MutexLock lock(&mu_);
  IngestStats stats = stats_;
  stats.queued_messages = static_cast<int>(messages_.size());
  stats.queued_bytes = queued_bytes_;
  stats.queued_sessions = static_cast<int>(sessions_.size());
  return stats;
}

void IngestWriter::AwaitBatch() {
  while (!MayStartBatch()) {
    // Wakes for a change of the queues or at the sessions' due time; a due time set by a
    // later Submit (none was armed) wakes it to wait again with that deadline. Sessions
    // already due while another writer writes need no timer (that writer takes them, or
    // its end wakes this one), and a deadline in the past would only spin.
    const absl::Time due = sessions_due_;
    const auto ready_or_new_due = [this, due]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return MayStartBatch() || sessions_due_ != due;
    };
    mu_.AwaitWithDeadline(absl::Condition(&ready_or_new_due),
                          due > absl::Now() ? due : absl::InfiniteFuture());
  }
}

bool IngestWriter::MayStartBatch() const {
  if (stopping_) return true;  // to drain the queues, or to return
  if (writing_ == 0) return !messages_.empty() || SessionsDue();
  // Beside a batch in flight: only for a backlog worth a transaction of its own.
  return static_cast<int>(messages_.size()) >= options_.parallel_backlog_messages ||
         queued_bytes_ >= options_.parallel_backlog_bytes;
}

bool IngestWriter::SessionsDue() const {
  return !sessions_.empty() && (static_cast<int>(sessions_.size()) >= options_.max_batch_sessions ||
                                absl::Now() >= sessions_due_);
}

void IngestWriter::TakeBatch(Batch& batch) {
  int64_t bytes = 0;
  while (!messages_.empty() &&
         static_cast<int>(batch.messages.size()) < options_.max_batch_messages) {
    const int64_t size = static_cast<int64_t>(messages_.front().message.raw.size());
    if (!batch.messages.empty() && bytes + size > options_.max_batch_bytes) break;
    bytes += size;
    queued_bytes_ -= size;
    batch.messages.push_back(std::move(messages_.front()));
    messages_.pop_front();
  }
  while (!sessions_.empty() &&
         static_cast<int>(batch.sessions.size()) < options_.max_batch_sessions) {
    batch.sessions.push_back(std::move(sessions_.front()));
    sessions_.pop_front();
  }
  // Sessions left behind (more than a batch's worth) have waited long enough already.
  sessions_due_ = sessions_.empty() ? absl::InfiniteFuture() : absl::Now();
}

void IngestWriter::WriterLoop() {
  WriterState state;
  for (;;) {
    Batch batch;
    {
      absl::MutexLock lock(&mu_);
      AwaitBatch();
      // Stopping with empty queues: everything is written. Stopping with work: drain it.
      if (messages_.empty() && sessions_.empty()) return;
      TakeBatch(batch);
      ++writing_;
    }
    const absl::Status status = WriteBatch(state, batch);
    {
      absl::MutexLock lock(&mu_);
      --writing_;
    }
    if (IsRowError(status) && batch.messages.size() + batch.sessions.size() > 1) {
      WriteEachAlone(state, batch);
      continue;
    }
    if (!status.ok()) KeepSessionsForLater(batch);
    Finish(state, batch, status);
    if (!status.ok()) PauseAfterFailure();
  }
}

void IngestWriter::KeepSessionsForLater(Batch& batch) {
  // Nobody waits for a session row, so a session need not fail with its batch: the sessions
  // of an outage (the ones that got 451) are the ones an operator most wants to read.
  // They go back to the front of the queue, as far as it has room, unless the writer stops.
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  while (!batch.sessions.empty() &&
         static_cast<int>(sessions_.size()) < options_.max_queued_sessions) {
    sessions_.push_front(std::move(batch.sessions.back()));
    batch.sessions.pop_back();
  }
  // Written with the next attempt, after the pause, messages or not.
  if (!sessions_.empty()) sessions_due_ = absl::Now();
}

void IngestWriter::PauseAfterFailure() {
  // Without a pause, sessions kept for later would have the writer retry in a tight loop
  // while the database is away. Messages queued meanwhile wait at most this long for their
  // answer.
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), kPauseAfterFailure);
}

void IngestWriter::Finish(WriterState& state, Batch& batch, const absl::Status& status) {
  Record(batch, status);
  for (QueuedMessage& queued : batch.messages) std::move(queued.done)(status);
  // Announced after the Dones, so that no `250` waits for this second round trip; a
  // waiter learns of the message a fraction of a millisecond after its sender.
  if (status.ok() && !batch.messages.empty()) Announce(state, batch);
  // `batch` (and with it each message's raw_owner) is released by the caller, after every Done.
}

bool IngestWriter::IsRowError(const absl::Status& status) {
  // What one row can cause (a duplicate id, a mailbox deleted meanwhile, a value PostgreSQL
  // refuses), as opposed to the database or the connection failing for everyone.
  switch (status.code()) {
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

void IngestWriter::WriteEachAlone(WriterState& state, Batch& batch) {
  // The batch was one transaction, so none of it is stored. Writing each row in its own
  // transaction lets the others through: one bad message must not turn its neighbours'
  // 250 into 451.
  for (QueuedMessage& queued : batch.messages) {
    Batch single;
    single.messages.push_back(std::move(queued));
    Finish(state, single, WriteBatch(state, single));
  }
  for (NewSession& session : batch.sessions) {
    Batch single;
    single.sessions.push_back(std::move(session));
    Finish(state, single, WriteBatch(state, single));
  }
}

absl::Status IngestWriter::WriteBatch(WriterState& state, const Batch& batch) {
  bool retry = false;
  absl::Status status = TryWrite(state, batch, retry);
  // A reused connection that broke before COMMIT (that would be Unknown, never retried) may
  // have died while idle, e.g. in a PostgreSQL restart, and nothing of the batch was
  // committed: it deserves one attempt on a new connection. If that fails too, or the
  // connection was new, the database is down and the Dones learn it now.
  if (retry) status = TryWrite(state, batch, retry);
  return status;
}

absl::Status IngestWriter::TryWrite(WriterState& state, const Batch& batch, bool& retry) {
  retry = false;
  if (state.conn != nullptr && IsStale(*state.conn)) state.conn.reset();
  const bool reused = state.conn != nullptr;
  if (!reused) {
    try {
      state.conn = std::make_unique<pqxx::connection>(conninfo_);
      // The batch statement's plan does not depend on its parameter values (arrays it
      // unnests), yet PostgreSQL would plan it anew for every batch, judging custom plans
      // cheaper: that planning was ~15% of the server's CPU per message.
      state.conn->set_variable("plan_cache_mode", "force_generic_plan");
    } catch (...) {
      const absl::Status status = CurrentExceptionToStatus(secrets_);
      return absl::Status(status.code(),
                          absl::StrCat("connecting to ", RedactConnectionString(options_.url), ": ",
                                       status.message()));
    }
  }
  const std::vector<const NewMessage*> messages = MessagesOf(batch);
  std::vector<const NewSession*> sessions;
  sessions.reserve(batch.sessions.size());
  for (const NewSession& session : batch.sessions) sessions.push_back(&session);

  absl::Status status;
  try {
    // One statement outside a transaction block commits by itself: one round trip per
    // batch. A connection lost during it leaves the outcome in doubt, as a lost COMMIT
    // did: the retry on a new connection (WriteBatch) writes the batch, or finds it stored
    // and fails on the duplicate ids, and then its messages get 451 as before.
    pqxx::nontransaction txn(*state.conn, "ingest");
    state.inserter.Insert(txn, messages, sessions);
  } catch (...) {
    status = CurrentExceptionToStatus(secrets_);
  }
  if (!status.ok() && (IsConnectionLost(status) || !state.conn->is_open())) {
    state.conn.reset();
    retry = reused && status.code() == absl::StatusCode::kUnavailable;
  }
  return status;
}

std::vector<const NewMessage*> IngestWriter::MessagesOf(const Batch& batch) {
  std::vector<const NewMessage*> messages;
  messages.reserve(batch.messages.size());
  for (const QueuedMessage& queued : batch.messages) messages.push_back(&queued.message);
  return messages;
}

void IngestWriter::Announce(WriterState& state, const Batch& batch) {
  // The messages are committed whatever happens here; a lost announcement only makes a
  // waiter find them on its next look (after any other message, or a listener reconnect).
  if (state.conn == nullptr) return;
  try {
    pqxx::nontransaction txn(*state.conn, "announce");
    state.inserter.NotifyNewMessages(txn, MessagesOf(batch));
  } catch (...) {
    state.conn.reset();
  }
}

void IngestWriter::Record(const Batch& batch, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  const int messages = static_cast<int>(batch.messages.size());
  const int sessions = static_cast<int>(batch.sessions.size());
  if (status.ok()) {
    ++stats_.batches_committed;
    stats_.messages_committed += messages;
    stats_.sessions_committed += sessions;
    if (messages > 0) {
      stats_.last_batch_messages = messages;
      ++stats_.batch_size_buckets[BucketFor(messages)];
    }
  } else {
    ++stats_.batches_failed;
    stats_.messages_failed += messages;
    stats_.sessions_failed += sessions;
  }
}

}  // namespace mailroom::storage
