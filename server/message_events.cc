#include "server/message_events.h"

#include <algorithm>
#include <exception>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_split.h"
#include "storage/message_wait.h"

namespace mailroom::server {
namespace {

// How long one await_notification blocks: the bound on noticing that the hub stops.
constexpr long kPollSeconds = 1;
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);

// Collects the payloads that arrive during one await_notification.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& conn, std::vector<std::string>& ids)
      : pqxx::notification_receiver(conn, storage::kMessagesChannel), ids_(ids) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    for (absl::string_view id : absl::StrSplit(payload, ',', absl::SkipEmpty())) {
      ids_.emplace_back(id);
    }
  }

 private:
  std::vector<std::string>& ids_;
};

}  // namespace

MessageEvents::Subscription::~Subscription() { hub_->Unsubscribe(key_); }

MessageEvents::MessageEvents(std::string conninfo)
    : conninfo_(std::move(conninfo)), thread_([this] { Loop(); }) {}

MessageEvents::~MessageEvents() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

std::unique_ptr<MessageEvents::Subscription> MessageEvents::Subscribe(Callback callback) {
  absl::MutexLock lock(&subscribers_mu_);
  const int64_t key = next_key_++;
  subscribers_.emplace(key, std::move(callback));
  return std::unique_ptr<Subscription>(new Subscription(this, key));
}

bool MessageEvents::listening() const {
  absl::MutexLock lock(&mu_);
  return listening_;
}

void MessageEvents::Unsubscribe(int64_t key) {
  absl::MutexLock lock(&subscribers_mu_);
  subscribers_.erase(key);
}

void MessageEvents::Publish(const std::vector<std::string>& ids) {
  absl::MutexLock lock(&subscribers_mu_);
  for (auto& [key, callback] : subscribers_) callback(ids);
}

bool MessageEvents::SleepUnlessStopping(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
  return stopping_;
}

void MessageEvents::Loop() {
  absl::Duration backoff = kFirstBackoff;
  bool connected_before = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    std::vector<std::string> ids;
    try {
      pqxx::connection conn(conninfo_);
      Receiver receiver(conn, ids);  // issues LISTEN
      {
        absl::MutexLock lock(&mu_);
        listening_ = true;
      }
      backoff = kFirstBackoff;
      // A reconnection may have missed notifications: every waiter looks again.
      if (connected_before) Publish({});
      connected_before = true;
      while (true) {
        {
          absl::MutexLock lock(&mu_);
          if (stopping_) break;
        }
        conn.await_notification(kPollSeconds, 0);
        if (!conn.is_open()) throw pqxx::broken_connection("LISTEN connection closed");
        if (!ids.empty()) {
          Publish(ids);
          ids.clear();
        }
      }
    } catch (const std::exception&) {
      // Broken or refused connection: try again after the backoff. The waiters keep their
      // deadlines, so a database that stays down ends them with DEADLINE_EXCEEDED.
    }
    {
      absl::MutexLock lock(&mu_);
      listening_ = false;
    }
    if (SleepUnlessStopping(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace mailroom::server
