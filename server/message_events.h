// MessageEvents: the process's one listener for new-message notifications. A dedicated
// thread holds its own PostgreSQL connection (not a pool one: LISTEN is session state)
// doing LISTEN on storage::kMessagesChannel, which the ingest transaction NOTIFYs on commit;
// every replica of Mailroom hears every capture, whichever replica took it.
//
// Subscribers get a callback per notification with the announced ids. When the connection
// breaks, notifications sent meanwhile are lost, so after reconnecting the hub calls every
// subscriber with an empty id list, meaning "something may have been missed: look again".
// Reconnection backs off from 100 ms to 5 s.
//
// Thread-safety: thread-safe. Callbacks run on the hub's thread, one at a time, with the
// subscriber list locked: they must be quick (hand work to an executor) and must not
// subscribe or unsubscribe. Once a Subscription is destroyed its callback is not running
// and never runs again.

#ifndef MAILROOM_SERVER_MESSAGE_EVENTS_H_
#define MAILROOM_SERVER_MESSAGE_EVENTS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mailroom::server {

class MessageEvents {
 public:
  // Ids of new messages; empty after a reconnection (anything may have been missed).
  using Callback = absl::AnyInvocable<void(const std::vector<std::string>& ids)>;

  // Ends the subscription when destroyed. REQUIRES: the hub outlives it.
  class Subscription {
   public:
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    friend class MessageEvents;
    Subscription(MessageEvents* hub, int64_t key) : hub_(hub), key_(key) {}
    MessageEvents* hub_;
    int64_t key_;
  };

  // Starts the listening thread on `conninfo` (a libpq connection string). It connects in
  // the background, so this never fails; until connected, no notification arrives.
  explicit MessageEvents(std::string conninfo);
  // Stops and joins the thread. REQUIRES: no Subscription is left.
  ~MessageEvents();
  MessageEvents(const MessageEvents&) = delete;
  MessageEvents& operator=(const MessageEvents&) = delete;

  // Registers `callback`. Notifications committed after the call returns while the hub is
  // connected reach it; see the class comment for gaps.
  std::unique_ptr<Subscription> Subscribe(Callback callback);

  // True while LISTEN is established (for tests and health).
  bool listening() const;

 private:
  void Loop();
  // Calls every subscriber with `ids`.
  void Publish(const std::vector<std::string>& ids);
  void Unsubscribe(int64_t key);
  // Waits up to `delay` or until stopping; returns true when stopping.
  bool SleepUnlessStopping(absl::Duration delay);

  const std::string conninfo_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool listening_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex subscribers_mu_;
  int64_t next_key_ ABSL_GUARDED_BY(subscribers_mu_) = 0;
  std::map<int64_t, Callback> subscribers_ ABSL_GUARDED_BY(subscribers_mu_);

  std::thread thread_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_MESSAGE_EVENTS_H_
