// MailboxService: the gRPC callback implementation of mailroom.v1.MailboxService (create, get,
// list, update with a field mask, delete). Requests are validated on the gRPC thread (names,
// lengths, field masks, each routing rule through server/routing/rule_check.h); storage work
// (storage/mailbox_store.h) runs on the StorageExecutor.
//
// After every change that committed, the service calls `on_change` (on an executor thread,
// before the reply is sent), so that this replica's routing table reloads at once; the other
// replicas hear of it through the NOTIFY the change commits with.
//
// Thread-safe: RPCs run concurrently; the service holds no per-call state. `on_change` may be
// called from several executor threads at once.

#ifndef MAILROOM_SERVER_MAILBOX_SERVICE_H_
#define MAILROOM_SERVER_MAILBOX_SERVICE_H_

#include <functional>

#include "mailroom/v1/mailbox_service.grpc.pb.h"
#include "server/storage_executor.h"
#include "storage/pool.h"

namespace mailroom::server {

// The most routing rules a mailbox may hold (Mailbox.rules).
inline constexpr int kMaxRoutingRules = 100;

class MailboxService final : public v1::MailboxService::CallbackService {
 public:
  // `on_change` may be empty. REQUIRES: pool and executor outlive the service and every call
  // it serves.
  MailboxService(storage::ConnectionPool* pool, StorageExecutor* executor,
                 std::function<void()> on_change);

  grpc::ServerUnaryReactor* CreateMailbox(grpc::CallbackServerContext* context,
                                          const v1::CreateMailboxRequest* request,
                                          v1::CreateMailboxResponse* response) override;
  grpc::ServerUnaryReactor* GetMailbox(grpc::CallbackServerContext* context,
                                       const v1::GetMailboxRequest* request,
                                       v1::GetMailboxResponse* response) override;
  grpc::ServerUnaryReactor* ListMailboxes(grpc::CallbackServerContext* context,
                                          const v1::ListMailboxesRequest* request,
                                          v1::ListMailboxesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateMailbox(grpc::CallbackServerContext* context,
                                          const v1::UpdateMailboxRequest* request,
                                          v1::UpdateMailboxResponse* response) override;
  grpc::ServerUnaryReactor* DeleteMailbox(grpc::CallbackServerContext* context,
                                          const v1::DeleteMailboxRequest* request,
                                          v1::DeleteMailboxResponse* response) override;

 private:
  void Changed() const;

  storage::ConnectionPool& pool_;
  StorageExecutor& executor_;
  const std::function<void()> on_change_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_MAILBOX_SERVICE_H_
