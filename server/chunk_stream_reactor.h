// ChunkStreamReactor: a gRPC server-streaming reactor whose responses come, one at a time,
// from a blocking source run on the StorageExecutor (GetRawMessage, GetMessagePart). The
// next response is produced only after the previous one was written, so a slow client
// holds at most one chunk in memory and never a gRPC thread.
//
// Owns itself: deleted by gRPC in OnDone. The source is called on the executor, never twice
// at the same time.

#ifndef MAILROOM_SERVER_CHUNK_STREAM_REACTOR_H_
#define MAILROOM_SERVER_CHUNK_STREAM_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "server/grpc_status.h"
#include "server/storage_executor.h"

namespace mailroom::server {

template <typename Response>
class ChunkStreamReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  // Returns the next response; nullopt ends the stream with OK, an error ends it with that
  // error.
  using Source = absl::AnyInvocable<absl::StatusOr<std::optional<Response>>()>;

  ChunkStreamReactor(StorageExecutor& executor, Source source)
      : executor_(executor), source_(std::move(source)) {
    Produce();
  }

  void OnWriteDone(bool ok) override {
    // A failed write means the call is over (cancelled, deadline, client gone).
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
      return;
    }
    Produce();
  }

  void OnDone() override { delete this; }

 private:
  void Produce() {
    executor_.Submit([this] {
      absl::StatusOr<std::optional<Response>> next = source_();
      if (!next.ok()) {
        this->Finish(ToGrpcStatus(next.status()));
      } else if (!next->has_value()) {
        this->Finish(grpc::Status::OK);
      } else {
        current_ = std::move(**next);
        this->StartWrite(&current_);
      }
    });
  }

  StorageExecutor& executor_;
  Source source_;
  Response current_;  // written by StartWrite; must live until OnWriteDone
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_CHUNK_STREAM_REACTOR_H_
