#include "server/watch_messages.h"

#include <deque>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/grpc_status.h"
#include "server/message_convert.h"
#include "server/proto_time.h"
#include "storage/message_match.h"

namespace mailroom::server {
namespace {

using Response = v1::WatchMessagesResponse;
using storage::ChangeKind;
using storage::MessageChange;

// Replay pages: small enough that a page is quick, fetched again once the client has read
// most of the previous one, so a replay of a million messages holds one or two pages.
constexpr int kReplayPage = 100;
constexpr size_t kReplayLowWater = kReplayPage / 2;

// A replayed message may still be announced after the replay read it (the announcement
// follows its COMMIT). Replayed ids received this long before the replay started are
// remembered, and for this long after, so that such an announcement is not sent twice.
constexpr absl::Duration kAnnounceMargin = absl::Minutes(10);

constexpr char kResume[] =
    "call WatchMessages again with `since` set to the receive time of the last `created` "
    "event you handled (and skip the ids you have already seen)";

// The state of one stream, shared by the reactor, the hub subscription and the executor
// tasks; whichever ends the stream first wins, the others find `finished_` set.
class Watcher final : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(storage::ConnectionPool& pool, StorageExecutor& executor, WatchRequest request,
          WatchLimits limits, grpc::ServerWriteReactor<Response>* reactor)
      : pool_(pool),
        executor_(executor),
        request_(std::move(request)),
        limits_(limits),
        reactor_(reactor) {
    scope_.filter = request_.filter;
  }

  // Subscribes first, so that nothing committed after the hub listens can be missed, then
  // resolves the mailbox.
  void Start(MessageEvents& events) {
    std::weak_ptr<Watcher> weak = weak_from_this();
    std::unique_ptr<MessageEvents::Subscription> subscription =
        events.SubscribeChanges([weak](const MessageEvents::Notice& notice) {
          if (std::shared_ptr<Watcher> self = weak.lock()) self->OnNotice(notice);
        });
    {
      absl::MutexLock lock(&mu_);
      if (!finished_) {
        subscription_ = std::move(subscription);
        subscription = nullptr;
      }
    }
    subscription.reset();  // finished already (kClosing): outside mu_, see Finish()
    executor_.Submit([self = shared_from_this()] { self->Resolve(); });
  }

  // Ends the stream with `status` unless it has ended already.
  void Finish(const absl::Status& status) {
    std::shared_ptr<Watcher> keep = shared_from_this();
    std::unique_ptr<MessageEvents::Subscription> subscription;
    {
      absl::MutexLock lock(&mu_);
      subscription = FinishLocked(status);
    }
    // Outside mu_: the hub calls OnNotice() with its own lock held, which then takes mu_.
    subscription.reset();
  }

  void OnWriteDone(bool ok) {
    std::shared_ptr<Watcher> keep = shared_from_this();
    std::unique_ptr<MessageEvents::Subscription> subscription;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      queued_bytes_ -= queue_.front().ByteSizeLong();
      queue_.pop_front();
      if (!ok) {
        // The call is over (cancelled, client gone).
        subscription = FinishLocked(absl::CancelledError("the stream was cancelled"));
      } else if (!finished_) {
        WriteNextLocked();
        MaybeFetchReplayLocked();
      }
    }
    subscription.reset();
  }

 private:
  enum class Phase { kStarting, kReplaying, kLive };

  // On the hub's thread (or the subscribing one): must be quick.
  void OnNotice(const MessageEvents::Notice& notice) {
    std::unique_ptr<MessageEvents::Subscription> subscription;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      switch (notice.kind) {
        case MessageEvents::Notice::Kind::kListening:
          listening_ = true;
          MaybeBeginLocked();
          break;
        case MessageEvents::Notice::Kind::kLost:
          // Before the hub first listened nothing was promised; after, a gap is possible.
          if (listening_) {
            subscription = FinishLocked(absl::UnavailableError(absl::StrCat(
                "the server lost its connection to the database, so changes may have been "
                "missed; ",
                kResume)));
          }
          break;
        case MessageEvents::Notice::Kind::kClosing:
          subscription = FinishLocked(
              absl::UnavailableError(absl::StrCat("the server is shutting down; ", kResume)));
          break;
        case MessageEvents::Notice::Kind::kChanges:
          for (const MessageChange& change : notice.changes) {
            pending_ids_ += change.ids.size();
            pending_.push_back(change);
          }
          if (pending_ids_ > limits_.max_pending_ids) {
            subscription = FinishLocked(absl::ResourceExhaustedError(
                absl::StrCat("more than ", limits_.max_pending_ids,
                             " changes are waiting to be checked for this stream; ", kResume)));
          } else {
            MaybeProcessLocked();
          }
          break;
      }
    }
    // The hub holds its subscriber lock here: a subscription cannot be destroyed now. The
    // executor releases it (it runs its tasks before the hub goes, see ApiServices).
    if (subscription != nullptr) {
      executor_.Submit(
          [subscription = std::move(subscription)]() mutable { subscription.reset(); });
    }
  }

  // On the executor: the mailbox name becomes an id, so that a rename does not break the
  // watch and deletions (which carry ids) can be filtered.
  void Resolve() {
    std::optional<std::string> mailbox_id;
    if (!request_.mailbox.empty()) {
      absl::StatusOr<std::string> id = storage::FindMailboxId(pool_, request_.mailbox);
      if (!id.ok()) return Finish(id.status());
      mailbox_id = *std::move(id);
    }
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    scope_.mailbox_id = std::move(mailbox_id);
    resolved_ = true;
    MaybeBeginLocked();
  }

  // Starts the replay, or goes live, once the mailbox is known and the hub listens.
  void MaybeBeginLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (phase_ != Phase::kStarting || !resolved_ || !listening_) return;
    if (request_.since.has_value()) {
      phase_ = Phase::kReplaying;
      replay_start_ = absl::Now();
      MaybeFetchReplayLocked();
    } else {
      GoLiveLocked();
    }
  }

  void GoLiveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    phase_ = Phase::kLive;
    // Not counted against the limits: it is tiny and comes once, after at most two replay
    // pages.
    Response& subscribed = queue_.emplace_back();
    subscribed.mutable_subscribed();
    queued_bytes_ += subscribed.ByteSizeLong();
    WriteNextLocked();
    MaybeProcessLocked();
  }

  void MaybeFetchReplayLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (phase_ != Phase::kReplaying || fetching_ || queue_.size() > kReplayLowWater) return;
    fetching_ = true;
    executor_.Submit(
        [self = shared_from_this(), after = replay_cursor_] { self->FetchReplay(after); });
  }

  // On the executor: one replay page.
  void FetchReplay(const std::optional<storage::ReplayCursor>& after) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
    }
    absl::StatusOr<std::vector<storage::MessageSummaryRow>> page =
        storage::ReplayPage(pool_, scope_, *request_.since, after, kReplayPage);
    if (!page.ok()) return Finish(page.status());
    std::unique_ptr<MessageEvents::Subscription> subscription;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      fetching_ = false;
      for (const storage::MessageSummaryRow& row : *page) {
        if (row.received_at >= replay_start_ - kAnnounceMargin) replayed_.insert(row.id);
        Response event;
        ToSummaryProto(row, event.mutable_created());
        SetTimestamp(row.received_at, event.mutable_event_time());
        subscription = EnqueueLocked(std::move(event));
        if (subscription != nullptr) break;
      }
      if (!finished_) {
        if (!page->empty()) {
          replay_cursor_ =
              storage::ReplayCursor{.received_at = page->back().received_at, .id = page->back().id};
        }
        if (static_cast<int>(page->size()) < kReplayPage) {
          GoLiveLocked();
        } else {
          MaybeFetchReplayLocked();
        }
      }
    }
    subscription.reset();
  }

  void MaybeProcessLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (phase_ != Phase::kLive || processing_ || pending_.empty()) return;
    processing_ = true;
    executor_.Submit([self = shared_from_this()] { self->Process(); });
  }

  // On the executor: turns the pending changes into events, one statement per batch.
  void Process() {
    while (true) {
      std::vector<MessageChange> batch;
      {
        absl::MutexLock lock(&mu_);
        if (finished_) return;
        if (pending_.empty()) {
          processing_ = false;
          return;
        }
        batch.assign(std::make_move_iterator(pending_.begin()),
                     std::make_move_iterator(pending_.end()));
        pending_.clear();
        pending_ids_ = 0;
        if (!replayed_.empty() && absl::Now() > replay_start_ + kAnnounceMargin) {
          replayed_.clear();
        }
      }
      std::vector<std::string> ids;
      for (const MessageChange& change : batch) {
        if (change.kind == ChangeKind::kDeleted) continue;
        ids.insert(ids.end(), change.ids.begin(), change.ids.end());
      }
      absl::flat_hash_map<std::string, storage::MessageSummaryRow> matches;
      if (!ids.empty()) {
        absl::StatusOr<std::vector<storage::MessageSummaryRow>> rows =
            storage::MatchMessages(pool_, ids, scope_);
        if (!rows.ok()) {
          return Finish(absl::UnavailableError(absl::StrCat(
              "cannot read the changed messages: ", rows.status().message(), "; ", kResume)));
        }
        for (storage::MessageSummaryRow& row : *rows) {
          std::string id = row.id;
          matches.emplace(std::move(id), std::move(row));
        }
      }
      std::unique_ptr<MessageEvents::Subscription> subscription;
      {
        absl::MutexLock lock(&mu_);
        if (finished_) return;
        for (Response& event : ToEvents(batch, matches)) {
          subscription = EnqueueLocked(std::move(event));
          if (subscription != nullptr) break;
        }
      }
      if (subscription != nullptr) return;  // destroyed here, outside mu_
    }
  }

  // The events of `batch`, in order. Removals of one message from several mailboxes in
  // the batch (one notification per mailbox) become one Deleted event.
  std::vector<Response> ToEvents(
      const std::vector<MessageChange>& batch,
      const absl::flat_hash_map<std::string, storage::MessageSummaryRow>& matches)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Response> events;
    absl::flat_hash_map<std::string, size_t> deleted_at;
    for (const MessageChange& change : batch) {
      switch (change.kind) {
        case ChangeKind::kCreated:
          for (const std::string& id : change.ids) {
            auto match = matches.find(id);
            if (match == matches.end() || replayed_.contains(id)) continue;
            Response& event = events.emplace_back();
            ToSummaryProto(match->second, event.mutable_created());
            SetTimestamp(match->second.received_at, event.mutable_event_time());
          }
          break;
        case ChangeKind::kUpdated:
          for (const std::string& id : change.ids) {
            auto match = matches.find(id);
            if (match == matches.end()) continue;
            Response& event = events.emplace_back();
            ToSummaryProto(match->second, event.mutable_updated());
            SetTimestamp(*change.time, event.mutable_event_time());
          }
          break;
        case ChangeKind::kDeleted:
          if (scope_.mailbox_id.has_value() && *scope_.mailbox_id != change.mailbox_id) break;
          for (const std::string& id : change.ids) {
            auto [at, added] = deleted_at.emplace(id, events.size());
            if (added) {
              Response& event = events.emplace_back();
              event.mutable_deleted()->set_id(id);
              SetTimestamp(*change.time, event.mutable_event_time());
            }
            events[at->second].mutable_deleted()->add_mailboxes(change.mailbox_name);
          }
          break;
      }
    }
    return events;
  }

  // Queues `event` for writing. Returns the subscription to release (outside mu_) when the
  // queue overflowed and the stream ended.
  [[nodiscard]] std::unique_ptr<MessageEvents::Subscription> EnqueueLocked(Response event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_bytes_ += event.ByteSizeLong();
    queue_.push_back(std::move(event));
    if (queue_.size() > limits_.max_queued_events || queued_bytes_ > limits_.max_queued_bytes) {
      return FinishLocked(absl::ResourceExhaustedError(absl::StrCat(
          "the client did not read fast enough (more than ", limits_.max_queued_events,
          " events or ", limits_.max_queued_bytes, " bytes were waiting); ", kResume)));
    }
    WriteNextLocked();
    return nullptr;
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || queue_.empty() || finished_) return;
    writing_ = true;
    // A deque keeps its elements in place as it grows, so the front stays valid until
    // OnWriteDone pops it. OnWriteDone never runs inline, so holding mu_ here is safe.
    reactor_->StartWrite(&queue_.front());
  }

  // Finishes the call; returns the subscription, which the caller must destroy outside mu_
  // (or hand to the executor when on the hub's thread).
  [[nodiscard]] std::unique_ptr<MessageEvents::Subscription> FinishLocked(
      const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return nullptr;
    finished_ = true;
    // Events not yet handed to gRPC are dropped; the one being written (if any) stays at the
    // front of the queue until OnWriteDone.
    while (queue_.size() > (writing_ ? 1 : 0)) {
      queued_bytes_ -= queue_.back().ByteSizeLong();
      queue_.pop_back();
    }
    pending_.clear();
    reactor_->Finish(ToGrpcStatus(status));
    return std::move(subscription_);
  }

  storage::ConnectionPool& pool_;
  StorageExecutor& executor_;
  const WatchRequest request_;
  const WatchLimits limits_;
  grpc::ServerWriteReactor<Response>* const reactor_;
  // Written once by Resolve() before `resolved_` is set under mu_; read-only afterwards.
  storage::WatchScope scope_;

  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool resolved_ ABSL_GUARDED_BY(mu_) = false;
  bool listening_ ABSL_GUARDED_BY(mu_) = false;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kStarting;
  std::unique_ptr<MessageEvents::Subscription> subscription_ ABSL_GUARDED_BY(mu_);

  // Replay.
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<storage::ReplayCursor> replay_cursor_ ABSL_GUARDED_BY(mu_);
  absl::Time replay_start_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> replayed_ ABSL_GUARDED_BY(mu_);

  // Changes heard but not yet turned into events.
  std::deque<MessageChange> pending_ ABSL_GUARDED_BY(mu_);
  size_t pending_ids_ ABSL_GUARDED_BY(mu_) = 0;
  bool processing_ ABSL_GUARDED_BY(mu_) = false;

  // Events waiting to be written; the front is being written while `writing_`.
  std::deque<Response> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

// Owns the Watcher until gRPC is done with the call.
class WatchReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  void set_watcher(std::shared_ptr<Watcher> watcher) { watcher_ = std::move(watcher); }

  void OnWriteDone(bool ok) override { watcher_->OnWriteDone(ok); }
  void OnCancel() override {
    watcher_->Finish(absl::CancelledError("the client cancelled the stream"));
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<Watcher> watcher_;
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchMessagesResponse>* StartWatchMessages(
    storage::ConnectionPool& pool, StorageExecutor& executor, MessageEvents& events,
    WatchRequest request, WatchLimits limits) {
  auto* reactor = new WatchReactor();
  auto watcher = std::make_shared<Watcher>(pool, executor, std::move(request), limits, reactor);
  reactor->set_watcher(watcher);
  watcher->Start(events);
  return reactor;
}

}  // namespace mailroom::server
