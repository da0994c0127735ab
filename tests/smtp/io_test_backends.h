// In-memory stand-ins for the SMTP engine's ways out (MessageSink, SessionRecorder,
// Authenticator, EngineLog), for tests that drive a real smtp::Server.
//
// Like the real ones they complete on a thread of their own, never on the caller's, so the
// engine's hand-back to its I/O threads is exercised. Tests wait for what they expect with
// the Wait... functions, which give up after a generous limit (a hang becomes a failure,
// not a timing assertion).
//
// Thread-safety: every class here is thread-safe.
#ifndef MAILROOM_TESTS_SMTP_IO_TEST_BACKENDS_H_
#define MAILROOM_TESTS_SMTP_IO_TEST_BACKENDS_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "smtp/authenticator.h"
#include "smtp/engine_log.h"
#include "smtp/message_sink.h"
#include "smtp/session_recorder.h"

namespace mailroom::smtp::testing {

// How long a Wait... function waits before it reports failure.
inline constexpr absl::Duration kWaitLimit = absl::Seconds(30);

// Runs posted tasks one after another on its own thread.
class CallbackThread {
 public:
  CallbackThread();
  ~CallbackThread();  // runs what is queued, then joins

  void Post(absl::AnyInvocable<void() &&> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Stores delivered messages. Can be told to fail deliveries or to hold them until Release().
class MemorySink final : public MessageSink {
 public:
  void Deliver(std::shared_ptr<const ReceivedMessage> message, Done done) override;

  // Every later delivery fails with `status` (OK: succeed again).
  void FailWith(absl::Status status);
  // While holding, deliveries wait (neither stored nor answered) until Release().
  void Hold();
  // Completes every held delivery and stops holding.
  void Release();

  // Returns false if fewer than `count` deliveries are held within kWaitLimit.
  bool WaitForHeld(int count);
  std::vector<std::shared_ptr<const ReceivedMessage>> messages();
  int delivery_attempts();

 private:
  struct Pending {
    std::shared_ptr<const ReceivedMessage> message;
    Done done;
  };
  void Complete(Pending pending, absl::Status status);

  absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Pending> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<const ReceivedMessage>> stored_ ABSL_GUARDED_BY(mu_);
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  CallbackThread thread_;  // last: joined before the state it completes into goes away
};

class MemoryRecorder final : public SessionRecorder {
 public:
  void Record(SessionRecord record) override;

  // Returns false if fewer than `count` records arrive within kWaitLimit.
  bool WaitForRecords(int count);
  std::vector<SessionRecord> records();

 private:
  absl::Mutex mu_;
  std::vector<SessionRecord> records_ ABSL_GUARDED_BY(mu_);
};

// Answers every check with one fixed status, from its own thread.
class FixedAuthenticator final : public Authenticator {
 public:
  explicit FixedAuthenticator(absl::Status answer = absl::OkStatus());

  void Authenticate(const Credentials& credentials, Done done) override;
  void set_answer(absl::Status answer);
  std::vector<std::string> usernames();

 private:
  absl::Mutex mu_;
  absl::Status answer_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> usernames_ ABSL_GUARDED_BY(mu_);
  CallbackThread thread_;
};

// Keeps every line as "SEVERITY message key=value ...".
class MemoryLog final : public EngineLog {
 public:
  void Log(LogSeverity severity, absl::string_view message,
           std::initializer_list<Field> fields) override;

  // Returns false if no line containing `text` arrives within kWaitLimit.
  bool WaitFor(absl::string_view text);
  std::vector<std::string> lines();

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mailroom::smtp::testing

#endif  // MAILROOM_TESTS_SMTP_IO_TEST_BACKENDS_H_
