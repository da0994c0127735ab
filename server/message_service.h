// MessageService: the gRPC callback implementation of mailroom.v1.MessageService for the
// captured-message API (list, read, raw, part, delete, update). Every storage call runs on
// the StorageExecutor; the gRPC callback threads only validate the request and hand off.
// WaitForMessage waits without holding a thread (server/wait_for_message.h), fed by the
// MessageEvents hub, and so does WatchMessages (server/watch_messages.h).
//
// Thread-safe: RPCs run concurrently; the service holds no per-call state.

#ifndef MAILROOM_SERVER_MESSAGE_SERVICE_H_
#define MAILROOM_SERVER_MESSAGE_SERVICE_H_

#include <cstdint>

#include "mailroom/v1/message_service.grpc.pb.h"
#include "server/message_events.h"
#include "server/storage_executor.h"
#include "storage/pool.h"

namespace mailroom::server {

class MessageService final : public v1::MessageService::CallbackService {
 public:
  // `max_response_bytes`: GetMessage answers RESOURCE_EXHAUSTED above it (0: no limit).
  // REQUIRES: pool, executor and events outlive the service and every call it serves.
  MessageService(storage::ConnectionPool* pool, StorageExecutor* executor, MessageEvents* events,
                 int64_t max_response_bytes);

  grpc::ServerUnaryReactor* ListMessages(grpc::CallbackServerContext* context,
                                         const v1::ListMessagesRequest* request,
                                         v1::ListMessagesResponse* response) override;
  grpc::ServerUnaryReactor* GetMessage(grpc::CallbackServerContext* context,
                                       const v1::GetMessageRequest* request,
                                       v1::GetMessageResponse* response) override;
  grpc::ServerWriteReactor<v1::GetRawMessageResponse>* GetRawMessage(
      grpc::CallbackServerContext* context, const v1::GetRawMessageRequest* request) override;
  grpc::ServerWriteReactor<v1::GetMessagePartResponse>* GetMessagePart(
      grpc::CallbackServerContext* context, const v1::GetMessagePartRequest* request) override;
  grpc::ServerUnaryReactor* DeleteMessage(grpc::CallbackServerContext* context,
                                          const v1::DeleteMessageRequest* request,
                                          v1::DeleteMessageResponse* response) override;
  grpc::ServerUnaryReactor* DeleteMessages(grpc::CallbackServerContext* context,
                                           const v1::DeleteMessagesRequest* request,
                                           v1::DeleteMessagesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateMessage(grpc::CallbackServerContext* context,
                                          const v1::UpdateMessageRequest* request,
                                          v1::UpdateMessageResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchMessagesResponse>* WatchMessages(
      grpc::CallbackServerContext* context, const v1::WatchMessagesRequest* request) override;
  grpc::ServerUnaryReactor* WaitForMessage(grpc::CallbackServerContext* context,
                                           const v1::WaitForMessageRequest* request,
                                           v1::WaitForMessageResponse* response) override;

 private:
  storage::ConnectionPool& pool_;
  StorageExecutor& executor_;
  MessageEvents& events_;
  const int64_t max_response_bytes_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_MESSAGE_SERVICE_H_
