// AwaitForeignCompletion: awaits a callback-style call (MessageSink::Deliver,
// Authenticator::Authenticate) whose `done` runs on a thread the engine does not own.
//
// The awaiting coroutine is resumed on its own executor (its connection's strand), never on
// the foreign thread, so the session is only ever touched from its strand. While the call
// is pending it counts as outstanding work, so the io_context's threads do not exit under
// it during shutdown; the callee must therefore call `done` exactly once.
//
// Thread-safety: `done` may be called from any thread, once.
#ifndef MAILROOM_SMTP_FOREIGN_COMPLETION_H_
#define MAILROOM_SMTP_FOREIGN_COMPLETION_H_

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace mailroom::smtp {

// The callback a foreign call completes with: a status, or a richer result (such as
// smtp::DeliveryResult) that carries one.
template <typename Result = absl::Status>
using ForeignDone = absl::AnyInvocable<void(Result) &&>;

// Calls `start(done)` at once; the operation completes with the value passed to `done`.
// With asio::use_awaitable: `absl::Status s = co_await AwaitForeignCompletion(f, ...)`, or
// `AwaitForeignCompletion<DeliveryResult>(f, ...)` for another result type.
template <typename Result = absl::Status, typename Start, typename CompletionToken>
auto AwaitForeignCompletion(Start start, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(Result)>(
      [](auto handler, Start start) {
        // Tracked: keeps io_context::run() from returning while the call is pending.
        auto executor = asio::prefer(asio::get_associated_executor(handler),
                                     asio::execution::outstanding_work.tracked);
        ForeignDone<Result> done = [handler = std::move(handler),
                                    executor = std::move(executor)](Result status) mutable {
          auto resume = [handler = std::move(handler), status = std::move(status)]() mutable {
            std::move(handler)(std::move(status));
          };
          asio::post(executor, std::move(resume));
        };
        std::move(start)(std::move(done));
      },
      token, std::move(start));
}

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_FOREIGN_COMPLETION_H_
