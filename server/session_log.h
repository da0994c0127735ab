// SessionLog: where the SMTP engine leaves finished sessions (smtp::SessionRecorder).
//
// Each record becomes one smtp_sessions row with its transcript, queued on the group-commit
// writer beside the messages; nobody waits for it. A record the writer refuses (queue full,
// writer stopping) is logged and counted, never retried: the messages it delivered are
// stored regardless.
//
// Thread-safety: thread-safe; Record() never blocks.
#ifndef MAILROOM_SERVER_SESSION_LOG_H_
#define MAILROOM_SERVER_SESSION_LOG_H_

#include "absl/container/flat_hash_set.h"
#include "server/config/settings.h"
#include "server/logger.h"
#include "server/metrics.h"
#include "smtp/session_recorder.h"
#include "storage/ingest_rows.h"
#include "storage/ingest_writer.h"

namespace mailroom::server {

// The row for a finished session. Exposed for tests.
storage::NewSession ToNewSession(smtp::SessionRecord record,
                                 const absl::flat_hash_set<std::string>& implicit_tls_listeners);

class SessionLog final : public smtp::SessionRecorder {
 public:
  // REQUIRES: `writer`, `metrics` and `logger` outlive the log.
  SessionLog(storage::IngestWriter* writer, const config::SmtpConfig& smtp, Metrics* metrics,
             Logger* logger);

  void Record(smtp::SessionRecord record) override;

 private:
  storage::IngestWriter* const writer_;
  const absl::flat_hash_set<std::string> implicit_tls_listeners_;
  Metrics* const metrics_;
  Logger* const logger_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_SESSION_LOG_H_
