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

// Collects the payloads of one channel, in arrival order with those of the other channel.
template <typename Raw>
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& conn, const char* channel, bool created, std::vector<Raw>& received)
      : pqxx::notification_receiver(conn, channel), created_(created), received_(received) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    received_.push_back(Raw{.created = created_, .payload = payload});
  }

 private:
  const bool created_;
  std::vector<Raw>& received_;
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

std::unique_ptr<MessageEvents::Subscription> MessageEvents::SubscribeChanges(
    ChangeCallback callback) {
  absl::MutexLock lock(&subscribers_mu_);
  // Told under the same lock as SetListening() and Publish(), so the subscriber's view of
  // the connection has no hole: whatever follows this notice is delivered in order.
  if (closed_) {
    callback(Notice{.kind = Notice::Kind::kClosing});
  } else if (announced_listening_) {
    callback(Notice{.kind = Notice::Kind::kListening});
  }
  const int64_t key = next_key_++;
  change_subscribers_.emplace(key, std::move(callback));
  return std::unique_ptr<Subscription>(new Subscription(this, key));
}

void MessageEvents::Close() {
  absl::MutexLock lock(&subscribers_mu_);
  if (closed_) return;
  closed_ = true;
  const Notice closing{.kind = Notice::Kind::kClosing};
  for (auto& [key, callback] : change_subscribers_) callback(closing);
}

bool MessageEvents::listening() const {
  absl::MutexLock lock(&mu_);
  return listening_;
}

void MessageEvents::Unsubscribe(int64_t key) {
  absl::MutexLock lock(&subscribers_mu_);
  subscribers_.erase(key);
  change_subscribers_.erase(key);
}

void MessageEvents::Publish(const std::vector<Raw>& received) {
  std::vector<std::string> ids;
  Notice notice{.kind = Notice::Kind::kChanges};
  for (const Raw& raw : received) {
    if (raw.created) {
      for (absl::string_view id : absl::StrSplit(raw.payload, ',', absl::SkipEmpty())) {
        ids.emplace_back(id);
      }
    }
    // A payload this version cannot read (a newer replica's format, a hand-made NOTIFY) is
    // skipped: it cannot be turned into an event.
    absl::StatusOr<storage::MessageChange> change = raw.created
                                                        ? storage::ParseCreatedPayload(raw.payload)
                                                        : storage::ParseChangePayload(raw.payload);
    if (change.ok()) notice.changes.push_back(*std::move(change));
  }
  absl::MutexLock lock(&subscribers_mu_);
  if (!ids.empty()) {
    for (auto& [key, callback] : subscribers_) callback(ids);
  }
  if (!notice.changes.empty()) {
    for (auto& [key, callback] : change_subscribers_) callback(notice);
  }
}

void MessageEvents::SetListening(bool listening, bool reconnected) {
  {
    absl::MutexLock lock(&mu_);
    listening_ = listening;
  }
  absl::MutexLock lock(&subscribers_mu_);
  if (announced_listening_ == listening) return;
  announced_listening_ = listening;
  // A reconnection may have missed notifications: every waiter looks again.
  if (listening && reconnected) {
    for (auto& [key, callback] : subscribers_) callback({});
  }
  if (closed_) return;
  const Notice notice{.kind = listening ? Notice::Kind::kListening : Notice::Kind::kLost};
  for (auto& [key, callback] : change_subscribers_) callback(notice);
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
    std::vector<Raw> received;
    try {
      pqxx::connection conn(conninfo_);
      // Each receiver issues its LISTEN; both are in place before anyone is told.
      Receiver<Raw> created(conn, storage::kMessagesChannel, /*created=*/true, received);
      Receiver<Raw> changed(conn, storage::kChangesChannel, /*created=*/false, received);
      backoff = kFirstBackoff;
      SetListening(true, connected_before);
      connected_before = true;
      while (true) {
        {
          absl::MutexLock lock(&mu_);
          if (stopping_) break;
        }
        conn.await_notification(kPollSeconds, 0);
        if (!conn.is_open()) throw pqxx::broken_connection("LISTEN connection closed");
        // The notifications of one transaction arrive together; take all that are here.
        conn.get_notifs();
        if (!received.empty()) {
          Publish(received);
          received.clear();
        }
      }
    } catch (const std::exception&) {
      // Broken or refused connection: try again after the backoff. The waiters keep their
      // deadlines, so a database that stays down ends them with DEADLINE_EXCEEDED.
    }
    SetListening(false, false);
    if (SleepUnlessStopping(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace mailroom::server
