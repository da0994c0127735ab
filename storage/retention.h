// Retention: one pruning pass that deletes the oldest messages and SMTP sessions beyond the
// configured limits. server/retention_job.h runs it periodically on every replica.
//
// A pass, in order:
//  1. per-mailbox limits (mailboxes.max_messages): the oldest links of a mailbox beyond its
//     limit are removed, and a message left in no mailbox is deleted; a message that is also
//     in another mailbox stays there;
//  2. the total limit (max_messages): the oldest messages beyond it are deleted;
//  3. the age limit (max_message_age): messages received before now - age are deleted;
//  4. address dictionary entries (migration 0007) that no message links any more, when the
//     pass deleted messages or does not trust estimates (which also catches up with
//     DeleteMessages);
//  5. sessions: the same two limits over smtp_sessions (started_at).
// "Oldest" is (received_at, id) / (started_at, id), the order of the indexes 0001 made for
// this; each step walks its index from the old end.
//
// Capture inserts into the same tables all the time, so the work is cut into batches of
// `batch_size` rows, each its own short transaction. Each step first fixes its boundary (the
// newest row that must go, or the age cut-off), so rows captured during the pass are never
// touched and the pass always ends.
//
// Replicas share the database: a pass runs only while holding a PostgreSQL session-level
// advisory lock (kRetentionLockKey) on the connection it uses; a replica that cannot take it
// at once skips the pass. The lock is released at the end of the pass on every path.
//
// Cost when under every limit: whether a table is over a count limit is first estimated from
// the planner statistics (pg_class, scaled to the table's current size, and the live-tuple
// counter); only when the estimate is close to the limit (or unknown) is the exact check made,
// which reads the index entry at OFFSET limit from the new end, O(limit) rather than O(rows).
// Age limits cost one index probe. Callers should turn estimates off now and then
// (PruneOptions::trust_estimates) so that stale statistics cannot hide an excess for long.
//
// Known gap (shared with DeleteMessages): a message unlinked from two mailboxes at once by
// two different transactions can stay in no mailbox.
//
// Thread-safety: PruneOnce() is thread-safe (it leases its own connection) and blocks on the
// database: never call it on an I/O or gRPC callback thread.
#ifndef MAILROOM_STORAGE_RETENTION_H_
#define MAILROOM_STORAGE_RETENTION_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "storage/pool.h"

namespace mailroom::storage {

// The pg_advisory_lock key held during a pruning pass: the ASCII bytes of "mailprun" read as
// a big-endian 64-bit integer. Other code must not use this key.
inline constexpr int64_t kRetentionLockKey = 0x6D61696C7072756E;

// What is kept. 0 (or a zero duration) means no limit. Per-mailbox limits live in the
// mailboxes table and are read at every pass.
struct RetentionLimits {
  int64_t max_messages = 0;
  absl::Duration max_message_age = absl::ZeroDuration();
  int64_t max_sessions = 0;
  absl::Duration max_session_age = absl::ZeroDuration();
  // Rows deleted per transaction. REQUIRES: >= 1.
  int batch_size = 1000;
};

struct PruneOptions {
  // When true, a count limit whose table the statistics show clearly under it is not checked
  // exactly. When false every count limit is checked exactly.
  bool trust_estimates = true;
  // Asked between batches; when it returns true the pass ends early (interrupted = true).
  std::function<bool()> stop = nullptr;
};

// What a pass did. Filled as batches commit, so it is accurate after an error too.
struct PruneResult {
  // Another replica held the lock; nothing was done.
  bool skipped = false;
  // PruneOptions::stop ended the pass before it was complete.
  bool interrupted = false;
  int64_t mailbox_links = 0;           // links removed by per-mailbox limits
  int64_t messages_mailbox_limit = 0;  // messages deleted because no mailbox kept them
  int64_t messages_total_limit = 0;    // messages deleted by max_messages
  int64_t messages_age_limit = 0;      // messages deleted by max_message_age
  int64_t sessions_total_limit = 0;    // sessions deleted by max_sessions
  int64_t sessions_age_limit = 0;      // sessions deleted by max_session_age
  int64_t addresses = 0;               // dictionary entries left without messages
  // How many exact count checks (OFFSET probes) ran; the rest were settled by estimates.
  int exact_checks = 0;

  int64_t messages() const {
    return messages_mailbox_limit + messages_total_limit + messages_age_limit;
  }
  int64_t sessions() const { return sessions_total_limit + sessions_age_limit; }
};

// Runs one pruning pass over `pool` and records in `*result` what it deleted. Returns OK when
// the pass ran to the end, was skipped (result->skipped) or was stopped
// (result->interrupted); otherwise the pool's status (storage/pool.h): Unavailable while the
// database is away, Aborted after a deadlock with a concurrent delete. Batches committed
// before an error stay deleted and counted. REQUIRES: limits.batch_size >= 1.
absl::Status PruneOnce(ConnectionPool& pool, const RetentionLimits& limits,
                       const PruneOptions& options, PruneResult* result);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_RETENTION_H_
