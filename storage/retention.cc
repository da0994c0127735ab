#include "storage/retention.h"

#include <optional>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>
#include <utility>
#include <vector>

#include "storage/statement.h"
#include "storage/text_encoding.h"

namespace mailroom::storage {
namespace {

constexpr Statement kTryLock = {"retention_try_lock", "SELECT pg_try_advisory_lock($1)"};
constexpr Statement kUnlock = {"retention_unlock", "SELECT pg_advisory_unlock($1)"};

// An estimate of the rows in table $1, or -1 when the statistics know nothing yet (never
// vacuumed or analysed). The planner's own method: the tuple density of the last VACUUM or
// ANALYZE times the table's current size, which follows growth since. It lags when new rows
// fill space freed by deletions; the live-tuple counter, which counts every insert and
// delete, covers that (and the size-based part covers the counter being reset by a crash).
constexpr Statement kEstimateRows = {"retention_estimate_rows", R"sql(
SELECT CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN -1::float8
  ELSE greatest(
    c.reltuples::float8 / c.relpages
      * (pg_relation_size(c.oid) / current_setting('block_size')::float8),
    pg_stat_get_live_tuples(c.oid)::float8) END
FROM pg_class c WHERE c.oid = $1::regclass)sql"};

// A count limit is checked exactly only when the estimate reaches this share of it: the
// estimates err by a few per cent, and far from the limit an error cannot matter.
constexpr double kEstimateMargin = 0.9;

// --- Step 1: per-mailbox limits (message_mailboxes primary key, from the old end).
constexpr Statement kMailboxLimits = {"retention_mailbox_limits", R"sql(
SELECT id::text, max_messages FROM mailboxes WHERE max_messages IS NOT NULL ORDER BY name)sql"};

// The newest link of mailbox $1 beyond its limit $2 (none when the mailbox is within it).
constexpr Statement kMailboxBoundary = {"retention_mailbox_boundary", R"sql(
SELECT b.received_at::text, b.message_id::text FROM (
  SELECT x.received_at, x.message_id FROM message_mailboxes x WHERE x.mailbox_id = $1::uuid
  ORDER BY x.received_at DESC, x.message_id DESC OFFSET $2 LIMIT 1) b)sql"};

// Unlinks the oldest $4 links of mailbox $1 up to the boundary ($2, $3), then deletes the
// messages that no other mailbox holds. All parts see one snapshot, in which the links being
// removed still exist: hence "another mailbox" rather than "any mailbox".
constexpr Statement kMailboxBatch = {"retention_mailbox_batch", R"sql(
WITH picked AS (
  SELECT message_id FROM message_mailboxes
  WHERE mailbox_id = $1::uuid AND (received_at, message_id) <= ($2::timestamptz, $3::uuid)
  ORDER BY received_at, message_id LIMIT $4),
unlinked AS (
  DELETE FROM message_mailboxes x USING picked p
  WHERE x.mailbox_id = $1::uuid AND x.message_id = p.message_id
  RETURNING x.message_id),
orphans AS (
  DELETE FROM messages m USING unlinked u
  WHERE m.id = u.message_id AND NOT EXISTS (
    SELECT 1 FROM message_mailboxes y WHERE y.message_id = m.id AND y.mailbox_id <> $1::uuid)
  RETURNING 1)
SELECT (SELECT count(*) FROM unlinked), (SELECT count(*) FROM orphans))sql"};

// --- Steps 2 and 3: messages (messages_received_idx, from the old end). Recipients and
// mailbox links go by ON DELETE CASCADE.
constexpr Statement kMessagesBoundary = {"retention_messages_boundary", R"sql(
SELECT b.received_at::text, b.id::text FROM (
  SELECT m.received_at, m.id FROM messages m
  ORDER BY m.received_at DESC, m.id DESC OFFSET $1 LIMIT 1) b)sql"};

constexpr Statement kMessagesUpToBatch = {"retention_messages_up_to", R"sql(
WITH picked AS (
  SELECT id FROM messages WHERE (received_at, id) <= ($1::timestamptz, $2::uuid)
  ORDER BY received_at, id LIMIT $3),
gone AS (DELETE FROM messages m USING picked p WHERE m.id = p.id RETURNING 1)
SELECT count(*) FROM gone)sql"};

constexpr Statement kMessagesBeforeBatch = {"retention_messages_before", R"sql(
WITH picked AS (
  SELECT id FROM messages WHERE received_at < $1::timestamptz
  ORDER BY received_at, id LIMIT $2),
gone AS (DELETE FROM messages m USING picked p WHERE m.id = p.id RETURNING 1)
SELECT count(*) FROM gone)sql"};

// --- Step 4: address dictionary entries (migration 0007) that no message links any more.
// Candidates are found without a lock, then deleted under one (see PruneAddresses).
constexpr Statement kUnlinkedAddresses = {"retention_unlinked_addresses", R"sql(
SELECT a.id::text FROM addresses a
WHERE NOT EXISTS (SELECT 1 FROM message_addresses ma WHERE ma.address_id = a.id)
LIMIT $1)sql"};
constexpr Statement kDeleteUnlinkedAddresses = {"retention_delete_unlinked_addresses", R"sql(
WITH gone AS (
  DELETE FROM addresses a WHERE a.id = ANY($1::uuid[])
    AND NOT EXISTS (SELECT 1 FROM message_addresses ma WHERE ma.address_id = a.id)
  RETURNING 1)
SELECT count(*) FROM gone)sql"};

// --- Step 5: sessions (smtp_sessions_started_idx, from the old end). Messages keep their
// session_id: it has no foreign key, and the session facts are copied onto each message.
constexpr Statement kSessionsBoundary = {"retention_sessions_boundary", R"sql(
SELECT b.started_at::text, b.id::text FROM (
  SELECT s.started_at, s.id FROM smtp_sessions s
  ORDER BY s.started_at DESC, s.id DESC OFFSET $1 LIMIT 1) b)sql"};

constexpr Statement kSessionsUpToBatch = {"retention_sessions_up_to", R"sql(
WITH picked AS (
  SELECT id FROM smtp_sessions WHERE (started_at, id) <= ($1::timestamptz, $2::uuid)
  ORDER BY started_at, id LIMIT $3),
gone AS (DELETE FROM smtp_sessions s USING picked p WHERE s.id = p.id RETURNING 1)
SELECT count(*) FROM gone)sql"};

constexpr Statement kSessionsBeforeBatch = {"retention_sessions_before", R"sql(
WITH picked AS (
  SELECT id FROM smtp_sessions WHERE started_at < $1::timestamptz
  ORDER BY started_at, id LIMIT $2),
gone AS (DELETE FROM smtp_sessions s USING picked p WHERE s.id = p.id RETURNING 1)
SELECT count(*) FROM gone)sql"};

// The age cut-off, fixed once per step so that the step ends however fast rows age.
constexpr Statement kCutoff = {"retention_cutoff",
                               "SELECT (now() - $1::int8 * interval '1 microsecond')::text"};

// The oldest-end boundary of a step: the newest row that must go, as (time, id) text. The
// boundary queries convert to text outside the OFFSET subquery, so that the rows skipped are
// read from the index only and never converted (and so that ORDER BY cannot name the text
// output columns, which would sort instead of walking the index).
struct Boundary {
  std::string time;
  std::string id;
};

// Releases the advisory lock when the pass ends, on every path. If the release fails the
// connection is closed, which releases the lock on the server too, and the pool drops it.
class LockRelease {
 public:
  explicit LockRelease(pqxx::connection& conn) : conn_(conn) {}
  LockRelease(const LockRelease&) = delete;
  LockRelease& operator=(const LockRelease&) = delete;
  ~LockRelease() {
    try {
      pqxx::nontransaction txn(conn_, "retention_unlock");
      ExecPrepared(txn, kUnlock, kRetentionLockKey);
    } catch (...) {
      conn_.disconnect();
    }
  }

 private:
  pqxx::connection& conn_;
};

class Pass {
 public:
  Pass(pqxx::connection& conn, const RetentionLimits& limits, const PruneOptions& options,
       PruneResult& result)
      : conn_(conn), limits_(limits), options_(options), result_(result) {}

  // Runs the steps (storage/retention.h). Throws what libpqxx throws.
  void Run() {
    if (!PruneMailboxes()) return;
    if (limits_.max_messages > 0 && !PruneMessagesOverTotal()) return;
    if (limits_.max_message_age > absl::ZeroDuration() &&
        !DeleteBefore(kMessagesBeforeBatch, limits_.max_message_age, result_.messages_age_limit)) {
      return;
    }
    // Entries lose their last link when messages go: in this pass, or through DeleteMessages,
    // which the exact passes catch up with.
    if ((result_.messages() > 0 || !options_.trust_estimates) && !PruneAddresses()) return;
    if (limits_.max_sessions > 0 && !PruneSessionsOverTotal()) return;
    if (limits_.max_session_age > absl::ZeroDuration()) {
      DeleteBefore(kSessionsBeforeBatch, limits_.max_session_age, result_.sessions_age_limit);
    }
  }

 private:
  // Each returns false when the pass was stopped.

  bool PruneMailboxes() {
    std::vector<std::pair<std::string, int64_t>> limits;
    {
      pqxx::nontransaction txn(conn_, "retention_mailbox_limits");
      for (const pqxx::row& row : ExecPrepared(txn, kMailboxLimits)) {
        limits.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
      }
    }
    if (limits.empty()) return true;
    // No mailbox holds more links than the table: one estimate settles every mailbox whose
    // limit is far above it.
    const double links = EstimateRows("message_mailboxes");
    for (const auto& [mailbox_id, limit] : limits) {
      if (Stopped()) return false;
      if (ClearlyUnder(links, limit)) continue;
      std::optional<Boundary> boundary = FindBoundary(kMailboxBoundary, mailbox_id, limit);
      if (!boundary.has_value()) continue;
      for (;;) {
        if (Stopped()) return false;
        pqxx::work txn(conn_, "retention_mailbox_batch");
        const pqxx::result r = ExecPrepared(txn, kMailboxBatch, mailbox_id, boundary->time,
                                            boundary->id, limits_.batch_size);
        txn.commit();
        const int64_t unlinked = r[0][0].as<int64_t>();
        result_.mailbox_links += unlinked;
        result_.messages_mailbox_limit += r[0][1].as<int64_t>();
        if (unlinked == 0) break;
      }
    }
    return true;
  }

  bool PruneMessagesOverTotal() {
    if (ClearlyUnder(EstimateRows("messages"), limits_.max_messages)) return true;
    if (Stopped()) return false;
    std::optional<Boundary> boundary = FindBoundary(kMessagesBoundary, limits_.max_messages);
    if (!boundary.has_value()) return true;
    return DeleteInBatches(result_.messages_total_limit, kMessagesUpToBatch, boundary->time,
                           boundary->id);
  }

  bool PruneSessionsOverTotal() {
    if (ClearlyUnder(EstimateRows("smtp_sessions"), limits_.max_sessions)) return true;
    if (Stopped()) return false;
    std::optional<Boundary> boundary = FindBoundary(kSessionsBoundary, limits_.max_sessions);
    if (!boundary.has_value()) return true;
    return DeleteInBatches(result_.sessions_total_limit, kSessionsUpToBatch, boundary->time,
                           boundary->id);
  }

  // Capture adds an entry with ON CONFLICT DO NOTHING and links it in the same statement,
  // so an entry deleted between the two would leave links to nothing, and from:/to: would
  // miss their messages. So each batch is deleted under a lock on the dictionary that
  // conflicts with inserting into it: it waits for the capture statements in flight to
  // commit (their links are then seen by the delete's re-check) and holds new ones back
  // for the milliseconds of the delete, after which they add the entry again. Finding the
  // candidates, the slow part (an anti-join over the whole dictionary), takes no lock.
  bool PruneAddresses() {
    for (;;) {
      if (Stopped()) return false;
      PgArrayBuilder ids;
      int found = 0;
      {
        pqxx::nontransaction txn(conn_, "retention_unlinked_addresses");
        for (const pqxx::row& row : ExecPrepared(txn, kUnlinkedAddresses, limits_.batch_size)) {
          ids.Add(row[0].as<std::string>());
          ++found;
        }
      }
      if (found == 0) return true;
      pqxx::work txn(conn_, "retention_delete_unlinked_addresses");
      txn.exec("SET LOCAL lock_timeout = '5s'");
      txn.exec("LOCK TABLE addresses IN SHARE ROW EXCLUSIVE MODE");
      result_.addresses +=
          ExecPrepared(txn, kDeleteUnlinkedAddresses, std::move(ids).Finish())[0][0].as<int64_t>();
      txn.commit();
      if (found < limits_.batch_size) return true;
    }
  }

  bool DeleteBefore(const Statement& batch, absl::Duration age, int64_t& counter) {
    if (Stopped()) return false;
    std::string cutoff;
    {
      pqxx::nontransaction txn(conn_, "retention_cutoff");
      cutoff = ExecPrepared(txn, kCutoff, absl::ToInt64Microseconds(age))[0][0].as<std::string>();
    }
    return DeleteInBatches(counter, batch, cutoff);
  }

  // Runs `batch` (its last parameter is the batch size, its one value the rows deleted),
  // each in its own transaction, until one deletes nothing. A short batch is not taken as
  // the end: rows deleted meanwhile by someone else can make a batch short.
  template <typename... Args>
  bool DeleteInBatches(int64_t& counter, const Statement& batch, const Args&... args) {
    for (;;) {
      if (Stopped()) return false;
      pqxx::work txn(conn_, "retention_batch");
      const pqxx::result r = ExecPrepared(txn, batch, args..., limits_.batch_size);
      const int64_t deleted = r[0][0].as<int64_t>();
      txn.commit();
      counter += deleted;
      if (deleted == 0) return true;
    }
  }

  template <typename... Args>
  std::optional<Boundary> FindBoundary(const Statement& statement, const Args&... args) {
    ++result_.exact_checks;
    pqxx::nontransaction txn(conn_, "retention_boundary");
    const pqxx::result r = ExecPrepared(txn, statement, args...);
    if (r.empty()) return std::nullopt;
    return Boundary{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
  }

  // The estimated rows of `table`, or -1 when unknown or when estimates are not trusted.
  double EstimateRows(const char* table) {
    if (!options_.trust_estimates) return -1;
    pqxx::nontransaction txn(conn_, "retention_estimate");
    return ExecPrepared(txn, kEstimateRows, table)[0][0].as<double>();
  }

  static bool ClearlyUnder(double estimate, int64_t limit) {
    return estimate >= 0 && estimate < kEstimateMargin * static_cast<double>(limit);
  }

  bool Stopped() {
    if (!result_.interrupted && options_.stop && options_.stop()) result_.interrupted = true;
    return result_.interrupted;
  }

  pqxx::connection& conn_;
  const RetentionLimits& limits_;
  const PruneOptions& options_;
  PruneResult& result_;
};

}  // namespace

absl::Status PruneOnce(ConnectionPool& pool, const RetentionLimits& limits,
                       const PruneOptions& options, PruneResult* result) {
  *result = PruneResult{};
  return pool.Run([&](pqxx::connection& conn) {
    {
      pqxx::nontransaction txn(conn, "retention_lock");
      if (!ExecPrepared(txn, kTryLock, kRetentionLockKey)[0][0].as<bool>()) {
        result->skipped = true;
        return;
      }
    }
    // The lock belongs to the session, not a transaction: the pooled connection must not
    // keep it after the pass (REQUIRES of ConnectionPool::Run).
    LockRelease release(conn);
    Pass(conn, limits, options, *result).Run();
  });
}

}  // namespace mailroom::storage
