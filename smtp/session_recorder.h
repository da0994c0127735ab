// SessionRecorder: where the SMTP engine leaves the record of a finished session.
//
// The engine calls Record() exactly once per connection, however it ended (QUIT, client
// drop, timeout, error, server shutdown). server/ implements it over PostgreSQL, batched.
// AUTH payloads never reach the transcript (the engine redacts them), and DATA content is
// summarised ("<1532 bytes of message data>"), not copied.
//
// Thread-safety: implementations must accept calls from any thread and must not block.
#ifndef MAILROOM_SMTP_SESSION_RECORDER_H_
#define MAILROOM_SMTP_SESSION_RECORDER_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "smtp/envelope.h"

namespace mailroom::smtp {

enum class SessionOutcome { kQuit, kClientDropped, kTimeout, kError, kServerShutdown };

struct TranscriptLine {
  enum class Direction : char { kClient = 'C', kServer = 'S', kInfo = 'I' };
  absl::Duration offset;  // since SessionInfo::started_at
  Direction direction;
  std::string text;  // without the CRLF
};

struct SessionRecord {
  SessionInfo info;
  absl::Time ended_at;
  int message_count = 0;  // messages acknowledged with 250
  SessionOutcome outcome = SessionOutcome::kQuit;
  std::string error;  // what went wrong, for kError and kTimeout; empty otherwise
  std::vector<TranscriptLine> transcript;
};

class SessionRecorder {
 public:
  virtual ~SessionRecorder() = default;

  virtual void Record(SessionRecord record) = 0;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_SESSION_RECORDER_H_
