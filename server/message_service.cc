#include "server/message_service.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/chunk_stream_reactor.h"
#include "server/full_message.h"
#include "server/grpc_status.h"
#include "server/message_convert.h"
#include "server/proto_time.h"
#include "server/unary_call.h"
#include "server/wait_for_message.h"
#include "server/watch_messages.h"
#include "smtp/mime_message.h"
#include "storage/ids.h"
#include "storage/message_query.h"
#include "storage/message_reader.h"
#include "storage/message_store.h"

namespace mailroom::server {
namespace {

// The proto promises chunks of at most 1 MiB.
constexpr int64_t kChunkBytes = 1 << 20;

absl::Status ValidateId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("id: required");
  if (!storage::IsValidId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("id: `", id, "` is not a message id (UUID)"));
  }
  return absl::OkStatus();
}

// A streaming call that ends at once with `status`.
template <typename Response>
class FinishedWriter final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedWriter(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// GetRawMessage: the size first (it also answers NOT_FOUND), then 1 MiB slices read with
// substring() so that the message is never held whole.
class RawChunks {
 public:
  RawChunks(storage::ConnectionPool& pool, std::string id) : pool_(pool), id_(std::move(id)) {}

  absl::StatusOr<std::optional<v1::GetRawMessageResponse>> operator()() {
    v1::GetRawMessageResponse response;
    if (!size_.has_value()) {
      absl::StatusOr<storage::MessageRecord> record = storage::GetMessageRecord(pool_, id_);
      if (!record.ok()) return record.status();
      size_ = record->summary.size_bytes;
      response.set_size_bytes(*size_);
      // An empty message is one response with no data.
      if (*size_ == 0) {
        offset_ = 1;
        return response;
      }
    }
    if (offset_ >= *size_) return std::nullopt;
    absl::StatusOr<std::string> chunk =
        storage::ReadRawChunk(pool_, id_, offset_, std::min(kChunkBytes, *size_ - offset_));
    if (!chunk.ok()) return chunk.status();
    // Deleted while streaming: stop rather than loop on an empty slice.
    if (chunk->empty()) {
      return absl::NotFoundError(absl::StrCat("id: message ", id_, " was deleted"));
    }
    offset_ += static_cast<int64_t>(chunk->size());
    *response.mutable_data() = std::move(*chunk);
    return response;
  }

 private:
  storage::ConnectionPool& pool_;
  const std::string id_;
  std::optional<int64_t> size_;
  int64_t offset_ = 0;
};

// GetMessagePart: the part is decoded once, then sent in 1 MiB slices.
class PartChunks {
 public:
  PartChunks(storage::ConnectionPool& pool, std::string id, std::string part_id)
      : pool_(pool), id_(std::move(id)), part_id_(std::move(part_id)) {}

  absl::StatusOr<std::optional<v1::GetMessagePartResponse>> operator()() {
    v1::GetMessagePartResponse response;
    if (!content_.has_value()) {
      absl::StatusOr<std::string> raw = storage::ReadRaw(pool_, id_);
      if (!raw.ok()) return raw.status();
      absl::StatusOr<smtp::MimePartContent> content = smtp::ExtractMimePart(*raw, part_id_);
      if (!content.ok()) return content.status();
      content_ = std::move(*content);
      ToMimePartProto(content_->part, /*with_children=*/false, response.mutable_part());
    } else if (offset_ >= content_->data.size()) {
      return std::nullopt;
    }
    const size_t length = std::min<size_t>(kChunkBytes, content_->data.size() - offset_);
    response.set_data(content_->data.substr(offset_, length));
    offset_ += length;
    // The first response is sent even for an empty part; an exhausted part ends next time.
    if (offset_ == 0) offset_ = 1;
    return response;
  }

 private:
  storage::ConnectionPool& pool_;
  const std::string id_;
  const std::string part_id_;
  std::optional<smtp::MimePartContent> content_;
  size_t offset_ = 0;
};

int ClampPageSize(int32_t requested) {
  if (requested == 0) return storage::kDefaultPageSize;
  return std::min<int>(requested, storage::kMaxPageSize);
}

}  // namespace

MessageService::MessageService(storage::ConnectionPool* pool, StorageExecutor* executor,
                               MessageEvents* events, int64_t max_response_bytes)
    : pool_(*pool),
      executor_(*executor),
      events_(*events),
      max_response_bytes_(max_response_bytes) {}

grpc::ServerUnaryReactor* MessageService::ListMessages(grpc::CallbackServerContext* context,
                                                       const v1::ListMessagesRequest* request,
                                                       v1::ListMessagesResponse* response) {
  if (request->page_size() < 0) {
    return FinishNow(context, absl::InvalidArgumentError("page_size: must not be negative"));
  }
  absl::StatusOr<storage::MessageFilter> filter = storage::ParseQuery(request->query());
  if (!filter.ok()) return FinishNow(context, filter.status());
  storage::ListQuery query{.mailbox = request->mailbox(),
                           .filter = std::move(*filter),
                           .page_size = ClampPageSize(request->page_size()),
                           .page_token = request->page_token()};
  return FinishOnExecutor(
      context, executor_, [this, query = std::move(query), response]() -> absl::Status {
        absl::StatusOr<storage::MessagePage> page = storage::ListMessages(pool_, query);
        if (!page.ok()) return page.status();
        for (const storage::MessageSummaryRow& row : page->messages) {
          ToSummaryProto(row, response->add_messages());
        }
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* MessageService::GetMessage(grpc::CallbackServerContext* context,
                                                     const v1::GetMessageRequest* request,
                                                     v1::GetMessageResponse* response) {
  if (absl::Status valid = ValidateId(request->id()); !valid.ok()) return FinishNow(context, valid);
  return FinishOnExecutor(
      context, executor_, [this, id = request->id(), response]() -> absl::Status {
        return ReadFullMessage(pool_, id, max_response_bytes_, response->mutable_message());
      });
}

grpc::ServerWriteReactor<v1::GetRawMessageResponse>* MessageService::GetRawMessage(
    grpc::CallbackServerContext* /*context*/, const v1::GetRawMessageRequest* request) {
  if (absl::Status valid = ValidateId(request->id()); !valid.ok()) {
    return new FinishedWriter<v1::GetRawMessageResponse>(ToGrpcStatus(valid));
  }
  return new ChunkStreamReactor<v1::GetRawMessageResponse>(executor_,
                                                           RawChunks(pool_, request->id()));
}

grpc::ServerWriteReactor<v1::GetMessagePartResponse>* MessageService::GetMessagePart(
    grpc::CallbackServerContext* /*context*/, const v1::GetMessagePartRequest* request) {
  absl::Status valid = ValidateId(request->id());
  if (valid.ok() && request->part_id().empty()) {
    valid = absl::InvalidArgumentError("part_id: required (such as \"1\" or \"1.2\")");
  }
  if (!valid.ok()) return new FinishedWriter<v1::GetMessagePartResponse>(ToGrpcStatus(valid));
  return new ChunkStreamReactor<v1::GetMessagePartResponse>(
      executor_, PartChunks(pool_, request->id(), request->part_id()));
}

grpc::ServerUnaryReactor* MessageService::DeleteMessage(grpc::CallbackServerContext* context,
                                                        const v1::DeleteMessageRequest* request,
                                                        v1::DeleteMessageResponse* /*response*/) {
  if (absl::Status valid = ValidateId(request->id()); !valid.ok()) return FinishNow(context, valid);
  return FinishOnExecutor(context, executor_,
                          [this, id = request->id()] { return storage::DeleteMessage(pool_, id); });
}

grpc::ServerUnaryReactor* MessageService::DeleteMessages(grpc::CallbackServerContext* context,
                                                         const v1::DeleteMessagesRequest* request,
                                                         v1::DeleteMessagesResponse* response) {
  if (request->mailbox().empty() && request->query().empty() && !request->confirm_all()) {
    return FinishNow(context, absl::InvalidArgumentError(
                                  "confirm_all: must be true to delete every message (mailbox and "
                                  "query are both empty)"));
  }
  absl::StatusOr<storage::MessageFilter> filter = storage::ParseQuery(request->query());
  if (!filter.ok()) return FinishNow(context, filter.status());
  return FinishOnExecutor(context, executor_,
                          [this, mailbox = request->mailbox(), filter = std::move(*filter),
                           response]() -> absl::Status {
                            absl::StatusOr<int64_t> deleted =
                                storage::DeleteMessages(pool_, mailbox, filter);
                            if (!deleted.ok()) return deleted.status();
                            response->set_deleted_count(*deleted);
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* MessageService::UpdateMessage(grpc::CallbackServerContext* context,
                                                        const v1::UpdateMessageRequest* request,
                                                        v1::UpdateMessageResponse* response) {
  if (!request->has_message())
    return FinishNow(context, absl::InvalidArgumentError("message: required"));
  if (absl::Status valid = ValidateId(request->message().id()); !valid.ok()) {
    return FinishNow(context,
                     absl::InvalidArgumentError(absl::StrCat("message.", valid.message())));
  }
  if (request->update_mask().paths_size() == 0) {
    return FinishNow(context,
                     absl::InvalidArgumentError(
                         "update_mask: required; the field that can be updated is `read`"));
  }
  for (const std::string& path : request->update_mask().paths()) {
    if (path != "read" && path != "*") {
      return FinishNow(context,
                       absl::InvalidArgumentError(absl::StrCat(
                           "update_mask: `", path,
                           "` cannot be updated; the field that can be updated is `read`")));
    }
  }
  return FinishOnExecutor(context, executor_,
                          [this, id = request->message().id(), read = request->message().read(),
                           response]() -> absl::Status {
                            absl::StatusOr<storage::MessageRecord> record =
                                storage::SetMessageRead(pool_, id, read);
                            if (!record.ok()) return record.status();
                            ToSummaryProto(record->summary, response->mutable_message());
                            return absl::OkStatus();
                          });
}

grpc::ServerWriteReactor<v1::WatchMessagesResponse>* MessageService::WatchMessages(
    grpc::CallbackServerContext* /*context*/, const v1::WatchMessagesRequest* request) {
  absl::StatusOr<storage::MessageFilter> filter = storage::ParseQuery(request->query());
  if (!filter.ok()) {
    return new FinishedWriter<v1::WatchMessagesResponse>(ToGrpcStatus(filter.status()));
  }
  WatchRequest watch{.mailbox = request->mailbox(), .filter = std::move(*filter)};
  if (request->has_since()) {
    absl::StatusOr<absl::Time> since = FromTimestamp(request->since(), "since");
    if (!since.ok()) {
      return new FinishedWriter<v1::WatchMessagesResponse>(ToGrpcStatus(since.status()));
    }
    watch.since = *since;
  }
  return StartWatchMessages(pool_, executor_, events_, std::move(watch));
}

grpc::ServerUnaryReactor* MessageService::WaitForMessage(grpc::CallbackServerContext* context,
                                                         const v1::WaitForMessageRequest* request,
                                                         v1::WaitForMessageResponse* response) {
  // The default `since` is taken before anything else so that a message committed while
  // the call is set up still counts.
  const absl::Time call_start = absl::Now();
  absl::StatusOr<storage::MessageFilter> filter = storage::ParseQuery(request->query());
  if (!filter.ok()) return FinishNow(context, filter.status());
  absl::Time since = call_start;
  if (request->has_since()) {
    absl::StatusOr<absl::Time> requested = FromTimestamp(request->since(), "since");
    if (!requested.ok()) return FinishNow(context, requested.status());
    since = *requested;
  }
  const auto longest = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(kMaxWait);
  WaitRequest wait{.mailbox = request->mailbox(),
                   .filter = std::move(*filter),
                   .since = since,
                   .deadline = std::min(context->deadline(), longest),
                   .max_response_bytes = max_response_bytes_};
  return StartWaitForMessage(pool_, executor_, events_, std::move(wait), response);
}

}  // namespace mailroom::server
