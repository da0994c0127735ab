// MessageEvents: the process's one listener for message change notifications. A dedicated
// thread holds its own PostgreSQL connection (not a pool one: LISTEN is session state)
// doing LISTEN on storage::kMessagesChannel, which the ingest path NOTIFYs after each
// COMMIT with the new ids, and on storage::kChangesChannel, which the triggers of
// migration 0005 NOTIFY with read-flag changes and removals from mailboxes
// (storage/change_events.h). Every replica of Mailroom hears every change, whichever
// replica (or SQL session) made it.
//
// Two kinds of subscribers:
//  - Subscribe(): new-message ids only (WaitForMessage). When the connection breaks,
//    notifications sent meanwhile are lost, so after reconnecting the hub calls these
//    subscribers with an empty id list, meaning "something may have been missed: look
//    again".
//  - SubscribeChanges(): typed changes in the order PostgreSQL delivered them
//    (WatchMessages), plus the state of the connection: kListening when LISTEN is
//    established, kLost when it breaks (changes may be missed until the next kListening),
//    and kClosing when the process stops streams (Close()).
// Reconnection backs off from 100 ms to 5 s.
//
// Thread-safety: thread-safe. Callbacks run on the hub's thread (or, for the first notice
// of SubscribeChanges, on the subscribing thread), one at a time, with the subscriber list
// locked: they must be quick (hand work to an executor) and must not subscribe or
// unsubscribe. Once a Subscription is destroyed its callback is not running and never runs
// again.

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
#include "storage/change_events.h"

namespace mailroom::server {

class MessageEvents {
 public:
  // Ids of new messages; empty after a reconnection (anything may have been missed).
  using Callback = absl::AnyInvocable<void(const std::vector<std::string>& ids)>;

  // What a change subscriber hears.
  struct Notice {
    enum class Kind {
      kListening,  // LISTEN is established: changes committed from now on are delivered
      kLost,       // the connection broke: changes may be missed until the next kListening
      kChanges,    // `changes`, in the order PostgreSQL delivered them
      kClosing,    // Close() ran: the process is stopping its streams
    };
    Kind kind = Kind::kChanges;
    std::vector<storage::MessageChange> changes{};
  };
  using ChangeCallback = absl::AnyInvocable<void(const Notice& notice)>;

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

  // Registers `callback` for new-message ids. Notifications committed after the call
  // returns while the hub is connected reach it; see the class comment for gaps.
  std::unique_ptr<Subscription> Subscribe(Callback callback);

  // Registers `callback` for typed changes. Before returning, it calls `callback` once on
  // the calling thread with kClosing when Close() has run, else with kListening when the
  // hub listens now; otherwise the first notice is kListening, once connected.
  std::unique_ptr<Subscription> SubscribeChanges(ChangeCallback callback);

  // Sends kClosing to every change subscriber, present and future, so that streams end at
  // once at shutdown instead of holding the server for its grace period. New-message
  // subscribers (waits) are left alone. Idempotent.
  void Close();

  // True while LISTEN is established (for tests and health).
  bool listening() const;

 private:
  // A notification as received: its channel and payload.
  struct Raw {
    bool created = false;  // kMessagesChannel, else kChangesChannel
    std::string payload;
  };

  void Loop();
  // Hands `received` to every subscriber.
  void Publish(const std::vector<Raw>& received);
  // Tells subscribers that LISTEN is established (`listening`) or lost.
  void SetListening(bool listening, bool reconnected);
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
  std::map<int64_t, ChangeCallback> change_subscribers_ ABSL_GUARDED_BY(subscribers_mu_);
  // The connection state as change subscribers were last told it.
  bool announced_listening_ ABSL_GUARDED_BY(subscribers_mu_) = false;
  bool closed_ ABSL_GUARDED_BY(subscribers_mu_) = false;

  std::thread thread_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_MESSAGE_EVENTS_H_
