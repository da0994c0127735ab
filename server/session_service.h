// SessionService: the gRPC callback implementation of mailroom.v1.SessionService, the SMTP
// session log API (list, get with transcript pages, delete). Storage work runs on the
// StorageExecutor (storage/session_store.h); the gRPC callback threads only validate the
// request and hand off.
//
// Thread-safe: RPCs run concurrently; the service holds no per-call state.

#ifndef MAILROOM_SERVER_SESSION_SERVICE_H_
#define MAILROOM_SERVER_SESSION_SERVICE_H_

#include "mailroom/v1/session_service.grpc.pb.h"
#include "server/storage_executor.h"
#include "storage/pool.h"

namespace mailroom::server {

class SessionService final : public v1::SessionService::CallbackService {
 public:
  // REQUIRES: pool and executor outlive the service and every call it serves.
  SessionService(storage::ConnectionPool* pool, StorageExecutor* executor);

  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const v1::ListSessionsRequest* request,
                                         v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::GetSessionRequest* request,
                                       v1::GetSessionResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSessions(grpc::CallbackServerContext* context,
                                           const v1::DeleteSessionsRequest* request,
                                           v1::DeleteSessionsResponse* response) override;

 private:
  storage::ConnectionPool& pool_;
  StorageExecutor& executor_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_SESSION_SERVICE_H_
