// Transcript: the timed record of one SMTP session's lines, kept by the server session and
// handed to the SessionRecorder at the end (smtp/session_recorder.h).
//
// Client lines are made safe to store and read: bytes that are not printable UTF-8 are
// written as \xNN (the transcript lands in a PostgreSQL text column and in UIs). Redaction is
// the caller's job, by choosing what to pass (AUTH payloads are never passed in). A session
// that sends lines forever cannot grow the record without bound: after kMaxLines lines one
// info line says so and the rest is counted, not kept.
//
// Thread-safety: none; one session uses it.
#ifndef MAILROOM_SMTP_TRANSCRIPT_H_
#define MAILROOM_SMTP_TRANSCRIPT_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "smtp/session_recorder.h"

namespace mailroom::smtp {

class Transcript {
 public:
  static constexpr size_t kMaxLines = 10000;
  static constexpr size_t kMaxLineLength = 1024;  // longer lines are cut and marked

  // `now` is the session's clock; offsets are measured from `started_at`.
  Transcript(absl::Time started_at, std::function<absl::Time()> now);

  void Client(absl::string_view line);
  // `replies` as written to the wire: one or more CRLF-terminated lines, one entry each.
  void Server(absl::string_view replies);
  void Info(absl::string_view text);

  // The lines so far; leaves the transcript empty.
  std::vector<TranscriptLine> Take();

  // "C: EHLO x", "S: 250 ok", "I: ..." — the test and debugging form of a line.
  static std::string Format(const TranscriptLine& line);

  // `bytes` with control characters, DEL and invalid UTF-8 written as \xNN, and backslashes
  // doubled so the escaping is unambiguous.
  static std::string Sanitize(absl::string_view bytes);

 private:
  void Add(TranscriptLine::Direction direction, absl::string_view text);

  absl::Time started_at_;
  std::function<absl::Time()> now_;
  std::vector<TranscriptLine> lines_;
  size_t dropped_ = 0;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_TRANSCRIPT_H_
