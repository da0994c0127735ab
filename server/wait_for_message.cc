#include "server/wait_for_message.h"

#include <grpcpp/alarm.h>

#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/full_message.h"
#include "server/grpc_status.h"
#include "storage/message_wait.h"

namespace mailroom::server {
namespace {

// The state of one call, shared by the reactor, the subscription, the alarm and the
// executor tasks; whichever finishes first wins, the others find `finished_` set.
class Waiter final : public std::enable_shared_from_this<Waiter> {
 public:
  Waiter(storage::ConnectionPool& pool, StorageExecutor& executor, WaitRequest request,
         v1::WaitForMessageResponse* response, grpc::ServerUnaryReactor* reactor)
      : pool_(pool),
        executor_(executor),
        request_(std::move(request)),
        response_(response),
        reactor_(reactor) {}

  // Subscribes, arms the deadline, then runs the first query: in this order, so that a
  // message committed between the query and the subscription cannot be missed.
  void Start(MessageEvents& events) {
    std::weak_ptr<Waiter> weak = weak_from_this();
    std::unique_ptr<MessageEvents::Subscription> subscription =
        events.Subscribe([weak](const std::vector<std::string>& /*ids*/) {
          if (std::shared_ptr<Waiter> self = weak.lock()) self->Query();
        });
    {
      absl::MutexLock lock(&mu_);
      subscription_ = std::move(subscription);
    }
    alarm_.Set(request_.deadline, [weak](bool fired) {
      if (!fired) return;  // cancelled: the call finished first
      if (std::shared_ptr<Waiter> self = weak.lock()) {
        self->Finish(
            absl::DeadlineExceededError("no matching message arrived before the deadline"));
      }
    });
    Query();
  }

  // Ends the call with `status` (and `message` when OK) unless it has ended already.
  void Finish(absl::Status status, std::optional<v1::Message> message = std::nullopt) {
    std::shared_ptr<Waiter> keep = shared_from_this();
    std::unique_ptr<MessageEvents::Subscription> subscription;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      subscription = std::move(subscription_);
    }
    // Outside mu_: the hub calls Query() with its own lock held, which then takes mu_.
    subscription.reset();
    alarm_.Cancel();
    if (message.has_value()) *response_->mutable_message() = std::move(*message);
    reactor_->Finish(ToGrpcStatus(status));
  }

  bool PastDeadline() const { return std::chrono::system_clock::now() >= request_.deadline; }

 private:
  // Runs a query now, or once more after the one in flight.
  void Query() {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (querying_) {
        dirty_ = true;
        return;
      }
      querying_ = true;
      dirty_ = false;
    }
    executor_.Submit([self = shared_from_this()] { self->RunQueries(); });
  }

  // On the executor: queries until a message is found or no notification came meanwhile.
  void RunQueries() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (finished_) return;
        dirty_ = false;
      }
      absl::StatusOr<std::optional<std::string>> id =
          storage::FindFirstMessage(pool_, request_.mailbox, request_.filter, request_.since);
      if (!id.ok()) return Finish(id.status());
      if (id->has_value()) {
        v1::Message message;
        absl::Status read = ReadFullMessage(pool_, **id, request_.max_response_bytes, &message);
        // Deleted between the two reads: keep waiting for the next match.
        if (!absl::IsNotFound(read)) {
          if (!read.ok()) return Finish(read);
          return Finish(absl::OkStatus(), std::move(message));
        }
      }
      absl::MutexLock lock(&mu_);
      if (!dirty_) {
        querying_ = false;
        return;
      }
    }
  }

  storage::ConnectionPool& pool_;
  StorageExecutor& executor_;
  const WaitRequest request_;
  v1::WaitForMessageResponse* const response_;
  grpc::ServerUnaryReactor* const reactor_;
  grpc::Alarm alarm_;

  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool querying_ ABSL_GUARDED_BY(mu_) = false;
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<MessageEvents::Subscription> subscription_ ABSL_GUARDED_BY(mu_);
};

// Owns the Waiter until gRPC is done with the call.
class WaitReactor final : public grpc::ServerUnaryReactor {
 public:
  void set_waiter(std::shared_ptr<Waiter> waiter) { waiter_ = std::move(waiter); }

  void OnCancel() override {
    // The server cancels a call whose deadline passed: say which it was.
    waiter_->Finish(waiter_->PastDeadline()
                        ? absl::DeadlineExceededError("the deadline passed")
                        : absl::CancelledError("the client cancelled the call"));
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<Waiter> waiter_;
};

}  // namespace

grpc::ServerUnaryReactor* StartWaitForMessage(storage::ConnectionPool& pool,
                                              StorageExecutor& executor, MessageEvents& events,
                                              WaitRequest request,
                                              v1::WaitForMessageResponse* response) {
  auto* reactor = new WaitReactor();
  auto waiter = std::make_shared<Waiter>(pool, executor, std::move(request), response, reactor);
  reactor->set_waiter(waiter);
  waiter->Start(events);
  return reactor;
}

}  // namespace mailroom::server
