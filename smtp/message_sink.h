// MessageSink: the one way out of the SMTP engine for a received message.
//
// The engine calls Deliver() at the end of DATA/BDAT LAST and sends its reply only when
// `done` runs: `250` for OK (the message is committed and will not be lost), `451 4.3.0` for
// any other status (nothing of the message remains stored). server/capture_sink.h
// implements it over PostgreSQL with group commit. With the status the sink may hand back
// lines for the session transcript (such as where routing filed the message); the engine
// appends them as information lines.
//
// Thread-safety: implementations must accept calls from any thread. `done` may run on any
// thread (typically a storage thread), exactly once; the engine posts back to its own
// executor before touching the session.
#ifndef MAILROOM_SMTP_MESSAGE_SINK_H_
#define MAILROOM_SMTP_MESSAGE_SINK_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "smtp/envelope.h"

namespace mailroom::smtp {

// What a delivery ended with. Converts from a bare status, for sinks with nothing to say.
struct DeliveryResult {
  DeliveryResult(absl::Status status)  // NOLINT(google-explicit-constructor)
      : status(std::move(status)) {}
  DeliveryResult(absl::Status status, std::vector<std::string> transcript_lines)
      : status(std::move(status)), transcript_lines(std::move(transcript_lines)) {}

  absl::Status status;
  // Information lines for the session transcript, without CRLF, in order.
  std::vector<std::string> transcript_lines;
};

class MessageSink {
 public:
  using Done = absl::AnyInvocable<void(DeliveryResult) &&>;

  virtual ~MessageSink() = default;

  // Stores `message` durably. Must not block: hand the work to another thread.
  virtual void Deliver(std::shared_ptr<const ReceivedMessage> message, Done done) = 0;
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_MESSAGE_SINK_H_
