#include "tests/smtp/io_test_backends.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mailroom::smtp::testing {

CallbackThread::CallbackThread() : thread_([this] { Loop(); }) {}

CallbackThread::~CallbackThread() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void CallbackThread::Post(absl::AnyInvocable<void() &&> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
}

void CallbackThread::Loop() {
  for (;;) {
    absl::AnyInvocable<void() &&> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CallbackThread* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->tasks_.empty();
          },
          this));
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    std::move(task)();
  }
}

void MemorySink::Deliver(std::shared_ptr<const ReceivedMessage> message, Done done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    ++attempts_;
    if (holding_) {
      held_.push_back({std::move(message), std::move(done)});
      return;
    }
    status = status_;
  }
  thread_.Post(
      [this, pending = Pending{std::move(message), std::move(done)},
       status = std::move(status)]() mutable { Complete(std::move(pending), std::move(status)); });
}

void MemorySink::Complete(Pending pending, absl::Status status) {
  if (status.ok()) {
    absl::MutexLock lock(&mu_);
    stored_.push_back(pending.message);
  }
  std::move(pending.done)(std::move(status));
}

void MemorySink::FailWith(absl::Status status) {
  absl::MutexLock lock(&mu_);
  status_ = std::move(status);
}

void MemorySink::Hold() {
  absl::MutexLock lock(&mu_);
  holding_ = true;
}

void MemorySink::Release() {
  std::vector<Pending> held;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    holding_ = false;
    held.swap(held_);
    status = status_;
  }
  for (Pending& pending : held) {
    thread_.Post([this, pending = std::move(pending), status]() mutable {
      Complete(std::move(pending), std::move(status));
    });
  }
}

bool MemorySink::WaitForHeld(int count) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(held_.size()) >= count;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), kWaitLimit);
}

std::vector<std::shared_ptr<const ReceivedMessage>> MemorySink::messages() {
  absl::MutexLock lock(&mu_);
  return stored_;
}

int MemorySink::delivery_attempts() {
  absl::MutexLock lock(&mu_);
  return attempts_;
}

void MemoryRecorder::Record(SessionRecord record) {
  absl::MutexLock lock(&mu_);
  records_.push_back(std::move(record));
}

bool MemoryRecorder::WaitForRecords(int count) {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(records_.size()) >= count;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), kWaitLimit);
}

std::vector<SessionRecord> MemoryRecorder::records() {
  absl::MutexLock lock(&mu_);
  return records_;
}

FixedAuthenticator::FixedAuthenticator(absl::Status answer) : answer_(std::move(answer)) {}

void FixedAuthenticator::Authenticate(const Credentials& credentials, Done done) {
  absl::Status answer;
  {
    absl::MutexLock lock(&mu_);
    usernames_.push_back(credentials.username);
    answer = answer_;
  }
  thread_.Post([done = std::move(done), answer = std::move(answer)]() mutable {
    std::move(done)(std::move(answer));
  });
}

void FixedAuthenticator::set_answer(absl::Status answer) {
  absl::MutexLock lock(&mu_);
  answer_ = std::move(answer);
}

std::vector<std::string> FixedAuthenticator::usernames() {
  absl::MutexLock lock(&mu_);
  return usernames_;
}

void MemoryLog::Log(LogSeverity severity, absl::string_view message,
                    std::initializer_list<Field> fields) {
  static constexpr absl::string_view kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  std::string line = absl::StrCat(kNames[static_cast<int>(severity)], " ", message);
  for (const Field& field : fields) absl::StrAppend(&line, " ", field.first, "=", field.second);
  absl::MutexLock lock(&mu_);
  lines_.push_back(std::move(line));
}

bool MemoryLog::WaitFor(absl::string_view text) {
  absl::MutexLock lock(&mu_);
  auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const std::string& line : lines_) {
      if (absl::StrContains(line, text)) return true;
    }
    return false;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&found), kWaitLimit);
}

std::vector<std::string> MemoryLog::lines() {
  absl::MutexLock lock(&mu_);
  return lines_;
}

}  // namespace mailroom::smtp::testing
